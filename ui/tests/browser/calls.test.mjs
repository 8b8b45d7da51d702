// Browser tests of one-to-one calls: two pages (Alice and Bob) in one Chromium with its fake
// camera and microphone, each running Parley's UI and call code over a mock core; the two mock
// cores relay the protocol's frames (docs/call-protocol.md) through a BroadcastChannel. Real
// WebRTC between the pages: each side decodes the other's picture and hears its sound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callsOf, mock, openApps, openContact, recordHtmlParsing, screenshot, sidewaysOverflow, useFakeMedia } from './harness.mjs';
import { activeCall, gone, label, seesPicture, shown, soundPeak, text, waitText } from './call-probes.mjs';
import { pairTest } from './mock-pair.mjs';

useFakeMedia();

/** Alice calls Bob (video or sound only) from their conversation. */
async function aliceCalls(alice, video = true) {
  await openContact(alice, 'bob');
  await alice.click(video ? '#call-video' : '#call-audio');
  await shown(alice, '#call-stage');
}

/** Alice calls, Bob answers, both see the call active. */
async function connect(alice, bob, video = true) {
  await aliceCalls(alice, video);
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-answer');
  await Promise.all([activeCall(alice), activeCall(bob)]);
}

pairTest('a video call: it rings, Bob answers, each sees and hears the other; mute and camera off reach the other side; devices switch mid-call; hang up ends both', {}, async ({ alice, bob }) => {
  await openContact(alice, 'bob');
  assert.equal(await label(alice, '#call-video'), 'Video call');
  assert.equal(await label(alice, '#call-audio'), 'Audio call');
  assert.equal(await alice.getAttribute('#call-video', 'aria-disabled'), null);

  await alice.click('#call-video');
  await shown(alice, '#call-stage');
  await waitText(alice, '#call-status', 'Ringing Bob…');
  assert.equal(await text(alice, '#call-stage-name'), 'Bob');

  // Bob's window: who, what, Answer and Decline; a ring tone, and the caller's ringback.
  await shown(bob, '#incoming-call');
  assert.equal(await text(bob, '#incoming-call-name'), 'Alice');
  assert.equal(await text(bob, '#incoming-call-kind'), 'Incoming video call');
  assert.equal(await text(bob, '#incoming-call-answer'), 'Answer');
  assert.equal(await text(bob, '#incoming-call-decline'), 'Decline');
  assert.equal(await bob.textContent('#call-announcer'), 'Incoming video call from Alice');
  await bob.waitForFunction(() => window.__tones.some((t) => t.osc.frequency.value === 880));
  await alice.waitForFunction(() => window.__tones.some((t) => t.osc.frequency.value === 440));
  // Alice's own picture while it rings.
  await alice.waitForFunction(() => document.querySelector('#call-local-video')?.srcObject?.getVideoTracks().length === 1);

  await bob.click('#incoming-call-answer');
  await gone(bob, '#incoming-call');
  await Promise.all([activeCall(alice), activeCall(bob)]);
  assert.match(await text(alice, '#call-status'), /^0:0\d$/);
  // The ring and the ringback stopped (their audio contexts let the sound device go).
  for (const page of [alice, bob]) await page.waitForFunction(() => window.__tones.every((t) => t.osc.context.state === 'closed'));

  // The offer carries VP8 and Opus; candidates went both ways, the last one empty.
  const signals = await callsOf(alice, 'call_signal');
  const offer = signals.find((c) => c.signal.kind === 'sdp');
  assert.equal(offer.signal.sdp_kind, 'offer');
  assert.match(offer.signal.sdp, /a=rtpmap:\d+ VP8\/90000/);
  assert.match(offer.signal.sdp, /a=rtpmap:\d+ opus\/48000/);
  assert.ok(signals.some((c) => c.signal.kind === 'ice' && c.signal.candidate.startsWith('candidate:')));
  const answer = (await callsOf(bob, 'call_signal')).find((c) => c.signal.kind === 'sdp');
  assert.equal(answer.signal.sdp_kind, 'answer');
  assert.deepEqual((await callsOf(alice, 'call_media_state')).map((c) => c.failure), [null]);
  assert.deepEqual((await callsOf(bob, 'call_media_state')).map((c) => c.failure), [null]);

  // Each side decodes the other's moving picture and hears its sound.
  await seesPicture(alice);
  await seesPicture(bob);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
  await alice.waitForSelector('#call-quality[data-quality]:not([hidden])');
  assert.match(await alice.getAttribute('#call-quality', 'aria-label'), /^(Good|Fair|Poor) connection/);
  await screenshot(alice, 'call-active-light');

  // Mute: Bob's screen says so; unmute takes it back.
  await alice.click('#call-mute');
  assert.equal(await label(alice, '#call-mute'), 'Unmute microphone');
  assert.equal(await alice.getAttribute('#call-mute', 'aria-pressed'), 'true');
  await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s microphone is off');
  assert.equal(await alice.evaluate(() => window.__tracks.filter((t) => t.kind === 'audio' && t.readyState === 'live').every((t) => !t.enabled)), true);
  await alice.click('#call-mute');
  assert.equal(await label(alice, '#call-mute'), 'Mute microphone');
  await bob.waitForSelector('#call-remote-media', { state: 'hidden' });

  // Camera off: Bob sees Alice's avatar instead, and why.
  await alice.click('#call-camera');
  assert.equal(await label(alice, '#call-camera'), 'Turn camera on');
  await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s camera is off');
  await shown(bob, '#call-remote-placeholder');
  assert.equal(await bob.isVisible('#call-remote-video'), false);
  assert.equal(await alice.isVisible('#call-local-video'), false, 'no preview while the camera is off');
  await alice.click('#call-camera');
  assert.equal(await label(alice, '#call-camera'), 'Turn camera off');
  await shown(bob, '#call-remote-video');
  assert.deepEqual((await callsOf(alice, 'set_call_media')).map((c) => [c.audio, c.video]), [[false, true], [true, true], [true, false], [true, true]]);

  // Another camera and microphone mid-call: the same connection goes on with them.
  await alice.click('#call-devices-toggle');
  await shown(alice, '#call-devices');
  await alice.waitForFunction(() => document.querySelectorAll('#call-camera-select option').length === 4);
  const cameraId = await alice.$eval('#call-camera-select', (s) => [...s.options].find((o) => o.textContent === 'fake_device_2')?.value);
  await alice.selectOption('#call-camera-select', cameraId);
  await alice.waitForFunction(() => window.__tracks.some((t) => t.label === 'fake_device_2' && t.readyState === 'live'));
  const micId = await alice.$eval('#call-microphone-select', (s) => [...s.options].find((o) => o.textContent === 'Fake Audio Input 1')?.value);
  await alice.selectOption('#call-microphone-select', micId);
  await alice.waitForFunction(() => window.__tracks.some((t) => t.label === 'Fake Audio Input 1' && t.readyState === 'live'));
  assert.equal(await alice.evaluate(() => window.__pcs.length), 1, 'no new connection');
  assert.equal(await alice.evaluate(() => window.__tracks.filter((t) => t.readyState === 'live').map((t) => t.label).sort().join()), 'Fake Audio Input 1,fake_device_2', 'the old devices are let go');
  await seesPicture(bob);
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob still hears Alice');
  assert.equal(await alice.getAttribute('#call-stage', 'data-phase'), 'active');
  // Remembered for the next calls.
  assert.deepEqual(await alice.evaluate(() => JSON.parse(localStorage.getItem('parley.call-devices'))), { camera: cameraId, microphone: micId, speaker: '' });

  // Reading another conversation: the compact bar, which returns to the call.
  await alice.click('#contacts [data-user-id="carol"] button');
  await gone(alice, '#call-stage');
  await shown(alice, '#call-bar');
  assert.equal(await text(alice, '.call-bar-name'), 'Bob');
  assert.match(await text(alice, '#call-bar-status'), /^\d:\d\d$/);
  await screenshot(alice, 'call-bar-light');
  await alice.click('#call-bar-return');
  await shown(alice, '#call-stage');
  await gone(alice, '#call-bar');

  // Alice hangs up: both screens say so, both keep an entry; media and connection are closed.
  await alice.click('#call-hang-up');
  await shown(alice, '#call-outcome');
  assert.equal(await text(alice, '#call-outcome-text'), 'Call ended.');
  await shown(bob, '#call-outcome');
  assert.equal(await text(bob, '#call-outcome-text'), 'Alice hung up.');
  await gone(alice, '#call-stage');
  await gone(bob, '#call-stage');
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => window.__pcs.every((pc) => pc.connectionState === 'closed') && window.__tracks.every((t) => t.readyState === 'ended'));
  }
  await openContact(alice, 'bob');
  await alice.waitForSelector('#messages .message[data-call="answered"]');
  assert.match(await text(alice, '#messages .message[data-call="answered"] .call-entry-text'), /^Outgoing video call · 0:\d\d$/);
  assert.equal(await alice.$('#messages .message[data-call="answered"] .tick'), null, 'an entry has no tick');
  await openContact(bob, 'alice');
  await bob.waitForSelector('#messages .message[data-call="answered"]');
  assert.match(await text(bob, '#messages .message[data-call="answered"] .call-entry-text'), /^Incoming video call · 0:\d\d$/);
  assert.match(await text(bob, '#contacts [data-user-id="alice"] .preview'), /^Incoming video call · 0:\d\d$/);
  await alice.click('#call-outcome-close');
  await gone(alice, '#call-outcome');
});

/** The entry of the last call in the open conversation: its outcome and words. */
const lastEntry = (page) =>
  page.evaluate(() => {
    const rows = [...document.querySelectorAll('#messages .message[data-call]')];
    const row = rows[rows.length - 1];
    return row === undefined ? null : { outcome: row.dataset.call, text: row.querySelector('.call-entry-text')?.textContent, missed: row.querySelector('.call-entry')?.classList.contains('missed') };
  });
const outcomeIs = (page, words) => waitText(page, '#call-outcome-text', words);

pairTest('declined, busy and cancelled calls are said in words on both sides, with their entries; a missed call counts as unread', {}, async ({ alice, bob }) => {
  // Bob declines.
  await aliceCalls(alice);
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-decline');
  await outcomeIs(alice, 'Bob declined the call.');
  await outcomeIs(bob, 'You declined the call.');
  await gone(alice, '#call-stage');
  await gone(bob, '#incoming-call');
  await alice.waitForFunction(() => document.querySelector('#messages .message[data-call]') !== null);
  assert.deepEqual(await lastEntry(alice), { outcome: 'declined', text: 'Declined video call', missed: false });
  assert.equal(await alice.textContent('#call-announcer'), 'Bob declined the call.');

  // Bob is in another call (Carol's rings there): busy; Bob keeps a missed call from Alice.
  await mock(bob, 'receiveCallFrame', 'carol', { t: 'call-invite', call: 'c'.repeat(32), video: false, v: 1 });
  await waitText(bob, '#incoming-call-name', 'Carol');
  await alice.click('#call-video');
  await outcomeIs(alice, 'Bob is in another call. Try again later.');
  await alice.waitForFunction(() => document.querySelectorAll('#messages .message[data-call]').length === 2);
  assert.deepEqual(await lastEntry(alice), { outcome: 'busy', text: 'Outgoing video call · busy', missed: false });
  await bob.waitForSelector('#contacts [data-user-id="alice"] .unread');
  assert.equal(await text(bob, '#contacts [data-user-id="alice"] .preview'), 'Missed video call');
  assert.equal(await text(bob, '#contacts [data-user-id="alice"] .unread'), '1');
  await bob.click('#incoming-call-decline');
  await gone(bob, '#incoming-call');

  // Alice gives up while it rings: cancelled there, missed here (unread, until Bob looks).
  await alice.click('#call-audio');
  await waitText(alice, '#call-status', 'Ringing Bob…');
  await waitText(bob, '#incoming-call-kind', 'Incoming audio call');
  await alice.click('#call-hang-up');
  await outcomeIs(alice, 'Call cancelled.');
  await outcomeIs(bob, 'Missed audio call from Alice.');
  await gone(bob, '#incoming-call');
  await waitText(bob, '#contacts [data-user-id="alice"] .unread', '2');
  await alice.waitForFunction(() => document.querySelectorAll('#messages .message[data-call]').length === 3);
  assert.deepEqual(await lastEntry(alice), { outcome: 'cancelled', text: 'Cancelled audio call', missed: false });
  await openContact(bob, 'alice');
  await bob.waitForFunction(() => document.querySelectorAll('#messages .message[data-call]').length === 3);
  assert.deepEqual(
    await bob.$$eval('#messages .message[data-call] .call-entry-text', (entries) => entries.map((e) => e.textContent)),
    ['Declined video call', 'Missed video call', 'Missed audio call'],
  );
  assert.deepEqual(await lastEntry(bob), { outcome: 'missed', text: 'Missed audio call', missed: true });
  await bob.waitForSelector('#contacts [data-user-id="alice"] .unread', { state: 'detached' });
  // An entry offers only "Delete for me" (it was never sent).
  await bob.click('#messages .message[data-call="missed"] .bubble', { button: 'right' });
  assert.deepEqual(await bob.$$eval('#context-menu [role="menuitem"]', (items) => items.map((i) => i.textContent)), ['Delete for me']);
  await bob.keyboard.press('Escape');
  await bob.click('#call-outcome-close');
  await gone(bob, '#call-outcome');

  // Bob's window can't take calls (a webview without WebRTC): "unsupported" there, a missed call here.
  await mock(bob, 'setCallsSupported', false);
  await alice.click('#call-video');
  await outcomeIs(alice, 'Bob can’t take calls in the Parley they use yet. Send a message instead.');
  await bob.waitForFunction(() => document.querySelectorAll('#messages .message[data-call]').length === 4);
  assert.deepEqual(await lastEntry(bob), { outcome: 'unsupported', text: 'Missed video call · calls aren’t available in this window', missed: true });
  assert.equal(await bob.isVisible('#incoming-call'), false, 'it never rang');
});

pairTest('both call each other at once: one call stands and connects', {}, async ({ alice, bob }) => {
  await openContact(alice, 'bob');
  await openContact(bob, 'alice');
  // The invites cross on the way (each is held until both have called).
  await mock(alice, 'holdCallFrames', true);
  await mock(bob, 'holdCallFrames', true);
  await alice.click('#call-audio');
  await bob.click('#call-audio');
  await Promise.all([alice.waitForFunction(() => window.__parleyMock.callNow() !== null), bob.waitForFunction(() => window.__parleyMock.callNow() !== null)]);
  await Promise.all([mock(alice, 'holdCallFrames', false), mock(bob, 'holdCallFrames', false)]);
  await Promise.all([activeCall(alice), activeCall(bob)]);
  const [a, b] = await Promise.all([alice.evaluate(() => window.__parleyMock.callNow()), bob.evaluate(() => window.__parleyMock.callNow())]);
  assert.equal(a.id, b.id, 'the same call on both sides');
  assert.notEqual(a.outgoing, b.outgoing);
  assert.equal(await alice.isVisible('#call-outcome'), false, 'the call that gave way is not shown');
  assert.equal(await bob.isVisible('#call-outcome'), false);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
  await alice.click('#call-hang-up');
  await outcomeIs(bob, 'Alice hung up.');
  // One entry each: the call that gave way leaves none.
  for (const page of [alice, bob]) await page.waitForFunction(() => document.querySelectorAll('#messages .message[data-call]').length === 1);
});

pairTest('nobody answers: "no answer" for the caller, a missed call for the one called', { params: { ring: '1500' } }, async ({ alice, bob }) => {
  await aliceCalls(alice);
  await shown(bob, '#incoming-call');
  await outcomeIs(alice, 'Bob didn’t answer.');
  await outcomeIs(bob, 'Missed video call from Alice.');
  await gone(bob, '#incoming-call');
  await alice.waitForSelector('#messages .message[data-call="no-answer"]');
  assert.deepEqual(await lastEntry(alice), { outcome: 'no-answer', text: 'Outgoing video call · no answer', missed: false });
  assert.equal(await bob.evaluate(() => window.__pcs.length), 0, 'no media was made');
  assert.deepEqual(await bob.evaluate(() => window.__gum), [], 'no camera was opened');
});

pairTest('an audio call: no camera is asked for, both hear each other (also minimized before it connected), the other side hangs up', {}, async ({ alice, bob }) => {
  // Alice minimizes while it rings: the bar; the sound still comes once Bob answers.
  await aliceCalls(alice, false);
  await alice.click('#call-minimize');
  await shown(alice, '#call-bar');
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-answer');
  await Promise.all([shown(alice, '#call-bar[data-phase="active"]'), activeCall(bob)]);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob with the call minimized');
  await alice.click('#call-bar-return');
  await activeCall(alice);
  for (const page of [alice, bob]) {
    assert.equal(await page.evaluate(() => window.__gum.every((c) => c.video === undefined)), true, 'sound only');
    assert.equal(await page.isVisible('#call-camera'), false);
    assert.equal(await page.isVisible('#call-remote-video'), false);
    assert.equal(await page.isVisible('#call-local-video'), false);
    assert.equal(await page.isVisible('#call-remote-placeholder'), true);
  }
  assert.equal(await text(bob, '#call-stage-name'), 'Alice');
  await screenshot(alice, 'call-audio-light');
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
  await bob.click('#call-mute');
  await alice.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Bob’s microphone is off');
  await bob.click('#call-hang-up');
  await outcomeIs(alice, 'Bob hung up.');
  await outcomeIs(bob, 'Call ended.');
  await alice.waitForSelector('#messages .message[data-call="answered"]');
  assert.match((await lastEntry(alice)).text, /^Outgoing audio call · 0:0\d$/);
});

pairTest('no camera to be had: the call goes on with sound and says why; no microphone: the call ends with the reason', {}, async ({ alice, bob }) => {
  // Bob's camera is refused: he answers with sound only, is told why, and Alice sees "camera off".
  await bob.evaluate(() => {
    window.__gumFail = 'video';
  });
  await connect(alice, bob);
  await waitText(bob, '#call-notice', 'Your camera isn’t available (Parley was not allowed to use it), so the others only hear you.');
  assert.equal(await bob.isDisabled('#call-camera'), true);
  await alice.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Bob’s camera is off');
  assert.equal(await alice.isVisible('#call-remote-placeholder'), true);
  await seesPicture(bob);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
  await alice.click('#call-hang-up');
  await outcomeIs(bob, 'Alice hung up.');

  // No microphone at Bob's: the call ends once he answers, with the reason.
  await bob.evaluate(() => {
    window.__gumFail = 'all';
  });
  await alice.click('#call-video');
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-answer');
  await outcomeIs(bob, 'The call failed: no microphone was found on this device (connect one and call again).');
  await outcomeIs(alice, 'Bob hung up.');
  assert.equal((await callsOf(bob, 'call_media_state')).at(-1).failure, 'no microphone was found on this device (connect one and call again)');

  // No microphone at Alice's: her call is cancelled at once, with the reason.
  await alice.evaluate(() => {
    window.__gumFail = 'all';
  });
  await alice.click('#call-video');
  await outcomeIs(alice, 'The call failed: no microphone was found on this device (connect one and call again).');
  await outcomeIs(bob, 'Missed video call from Alice.');
});

pairTest(
  'hostile call frames: a name and a reason with markup stay text; malformed signals and frames are dropped and the call goes on',
  { init: [recordHtmlParsing] },
  async ({ alice, bob }) => {
    const hostile = '<img src=x onerror="window.__pwned=1">Bob';
    await mock(alice, 'updateUser', 'bob', { display_name: hostile });
    await mock(alice, 'goOnline');
    await alice.waitForFunction((name) => document.querySelector('#contacts [data-user-id="bob"] .name')?.textContent === name, hostile);

    // Bob calls Alice: his name is text on her screen.
    await openContact(bob, 'alice');
    await bob.click('#call-video');
    await shown(alice, '#incoming-call');
    assert.equal(await text(alice, '#incoming-call-name'), hostile);
    assert.equal(await alice.$('#incoming-call img'), null);
    assert.equal(await alice.textContent('#call-announcer'), `Incoming video call from ${hostile}`);
    await alice.click('#incoming-call-answer');
    await Promise.all([activeCall(alice), activeCall(bob)]);
    assert.equal(await text(alice, '#call-stage-name'), hostile);
    const id = await alice.evaluate(() => window.__parleyMock.callNow()?.id);

    // Signals no core sends: ignored (before the page's connection sees them).
    for (const signal of [null, 'sdp', { kind: 'bogus' }, { kind: 'sdp', sdp_kind: 'offer', sdp: 42 }, { kind: 'sdp', sdp_kind: 'rollback', sdp: 'v=0' }, { kind: 'ice', candidate: 'a\nb' }, { kind: 'start', offerer: 'yes' }]) {
      await mock(alice, 'emit', { event: 'call-signal', call_id: id, signal });
    }
    // A well-formed candidate that is nonsense, and signals for a call that is not this one.
    await mock(alice, 'emit', { event: 'call-signal', call_id: id, signal: { kind: 'ice', candidate: 'candidate:<b>x</b>', mid: '0', mline: 0 } });
    await mock(alice, 'emit', { event: 'call-signal', call_id: 'f'.repeat(32), signal: { kind: 'ice', candidate: '', mid: null, mline: null } });
    // Frames the mock core drops, as the real one: an unknown field, a wrong type, a description of the wrong kind.
    await mock(bob, 'sendRawCallFrame', 'alice', { t: 'call-hangup', call: id, by: 'me' });
    await mock(bob, 'sendRawCallFrame', 'alice', { t: 'call-media', call: id, audio: 'no', video: false });
    await mock(bob, 'sendRawCallFrame', 'alice', { t: 'call-sdp', call: id, kind: 'answer', sdp: 'v=0\r\n' });
    await mock(bob, 'sendRawCallFrame', 'alice', { t: '<script>', call: id });
    // A new offer from the caller that is no description: the call stays as it was.
    await mock(bob, 'sendRawCallFrame', 'alice', { t: 'call-sdp', call: id, kind: 'offer', sdp: 'v=0\r\nthis is <b>not</b> a description' });
    await alice.waitForTimeout(500);
    assert.equal(await alice.getAttribute('#call-stage', 'data-phase'), 'active');
    await seesPicture(alice);
    assert.deepEqual(await callsOf(alice, 'call_media_state'), [{ callId: id, failure: null }]);

    // The core ends the call with a reason that has markup in it: shown as text.
    const reason = '<b>boom</b> & <img src=x onerror="window.__pwned=1">';
    await mock(alice, 'failCall', reason);
    await outcomeIs(alice, `The call failed: ${reason}.`);
    assert.equal(await alice.$('#call-outcome img, #call-outcome b'), null);
    await outcomeIs(bob, `${'Alice'} hung up.`);
    for (const page of [alice, bob]) {
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.deepEqual(await page.evaluate(() => window.__htmlParsed), []);
    }
  },
);

test('calls need WebRTC (or WebCodecs for the media bridge), a connection and the contact online: the buttons say why instead of failing silently', async () => {
  // Neither WebRTC nor the WebCodecs the bridge would encode with (bridged-calls.test.mjs has the bridge).
  const noRtc = await openApps([
    {
      session: 'online',
      init: () => {
        delete window.RTCPeerConnection;
        delete window.VideoEncoder;
      },
    },
  ]);
  try {
    const [page] = noRtc.pages;
    await openContact(page, 'bob');
    assert.equal(await page.getAttribute('#call-video', 'aria-disabled'), 'true');
    assert.equal(await page.getAttribute('#call-audio', 'aria-disabled'), 'true');
    const why = 'Calls are not available in this window yet: its web engine has no WebRTC.';
    assert.equal(await page.getAttribute('#call-video', 'title'), why);
    assert.equal(await page.textContent('#call-reason'), why);
    // Marked unavailable (aria-disabled), yet pressable: to say why.
    await page.click('#call-video', { force: true });
    await shown(page, '#call-unavailable');
    assert.equal(await page.textContent('#call-unavailable span'), why);
    assert.deepEqual(await callsOf(page, 'start_call'), []);
    await screenshot(page, 'call-unavailable-light');
    await page.click('#nav-settings');
    await shown(page, '#settings-calls-unavailable');
    assert.deepEqual(noRtc.errors, []);
  } finally {
    await noRtc.close();
  }

  // WebRTC, but Bob offline; then online, but his device can't be reached (no relay here).
  const plain = await openApps([{ session: 'online' }]);
  try {
    const [page] = plain.pages;
    await openContact(page, 'bob');
    assert.equal(await page.getAttribute('#call-audio', 'title'), 'Bob is offline: a call needs them online.');
    await page.click('#call-audio', { force: true });
    await waitText(page, '#call-unavailable span', 'Bob is offline: a call needs them online.');
    await page.click('#call-unavailable .close');
    await gone(page, '#call-unavailable');
    await page.fill('#room-name', 'lobby');
    await page.click('#room-join');
    await page.waitForFunction(() => document.querySelector('#call-audio')?.getAttribute('aria-disabled') === null);
    assert.equal(await page.getAttribute('#call-audio', 'title'), 'Call Bob (sound only)');
    await page.click('#call-audio');
    await waitText(page, '#call-unavailable span', 'They aren’t online, so they can’t be called now. Send a message instead.');
    assert.equal(await page.isVisible('#call-stage'), false);
    assert.deepEqual(await page.evaluate(() => window.__parleyMock.callNow()), null);
    assert.deepEqual(plain.errors, []);
  } finally {
    await plain.close();
  }
});

pairTest('Settings: camera, microphone and speaker with a preview and a level meter; the choice is remembered and used by the next call', {}, async ({ alice, bob }) => {
  await alice.bringToFront();
  await alice.click('#nav-settings');
  await shown(alice, '#settings-calls');
  assert.equal(await alice.isEnabled('#settings-speaker'), true, 'Chromium can choose a speaker');
  await alice.click('#settings-media-test');
  assert.equal(await alice.getAttribute('#settings-media-test', 'aria-pressed'), 'true');
  await alice.waitForFunction(() => document.querySelector('#settings-camera-preview')?.readyState >= 2);
  await alice.waitForFunction(() => Number(document.querySelector('#settings-mic-level')?.getAttribute('aria-valuenow')) > 0);
  // Now allowed, the devices have their names.
  await alice.waitForFunction(() => [...document.querySelectorAll('#settings-camera option')].some((o) => o.textContent === 'fake_device_2'));
  const pick = (select, name) => alice.$eval(select, (s, name) => [...s.options].find((o) => o.textContent === name)?.value, name);
  const camera = await pick('#settings-camera', 'fake_device_2');
  const microphone = await pick('#settings-microphone', 'Fake Audio Input 2');
  const speaker = await pick('#settings-speaker', 'Fake Audio Output 1');
  await alice.selectOption('#settings-camera', camera);
  await alice.selectOption('#settings-microphone', microphone);
  await alice.selectOption('#settings-speaker', speaker);
  // The check goes on with the devices chosen.
  await alice.waitForFunction(() => window.__tracks.some((t) => t.label === 'fake_device_2' && t.readyState === 'live'));
  await alice.waitForFunction(() => window.__tracks.some((t) => t.label === 'Fake Audio Input 2' && t.readyState === 'live'));
  assert.deepEqual(await alice.evaluate(() => JSON.parse(localStorage.getItem('parley.call-devices'))), { camera, microphone, speaker });
  await alice.click('#settings-speaker-test');
  await screenshot(alice, 'call-settings-light');
  // Leaving Settings lets the camera go.
  await alice.click('#nav-chats');
  await alice.waitForFunction(() => window.__tracks.every((t) => t.readyState === 'ended'));

  // The next call uses them, and plays Bob on the speaker chosen.
  await connect(alice, bob);
  const live = await alice.evaluate(() => window.__tracks.filter((t) => t.readyState === 'live').map((t) => t.label).sort());
  assert.deepEqual(live, ['Fake Audio Input 2', 'fake_device_2']);
  // setSinkId resolves after the call is up: wait for it rather than read it at once.
  await alice.waitForFunction((speaker) => document.querySelector('#call-remote-audio')?.sinkId === speaker, speaker);
  // The panel lists the devices once the webview has enumerated them: wait for the choice.
  await alice.click('#call-devices-toggle');
  await alice.waitForFunction(([camera, microphone]) => document.querySelector('#call-camera-select')?.value === camera && document.querySelector('#call-microphone-select')?.value === microphone, [camera, microphone]);
  await alice.click('#call-hang-up');
  await outcomeIs(bob, 'Alice hung up.');
});

pairTest('how the call screens look: incoming, in the call, the bar and Settings; light and dark, wide and 400 px', {}, async ({ alice, bob }) => {
  const looks = [
    ['light', { width: 1100, height: 760 }],
    ['dark', { width: 1100, height: 760 }],
    ['light', { width: 400, height: 760 }],
    ['dark', { width: 400, height: 760 }],
  ];
  const set = async (page, scheme, size) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize(size);
  };
  const name = (what, scheme, size) => `call-${what}-${size.width}-${scheme}`;
  const fits = async (page, what) => assert.ok((await sidewaysOverflow(page)) <= 0, `${what} does not scroll sideways`);

  await openContact(alice, 'bob');
  await alice.click('#call-video');
  await shown(bob, '#incoming-call');
  for (const [scheme, size] of looks) {
    await set(bob, scheme, size);
    await bob.bringToFront();
    await fits(bob, 'the incoming call');
    const box = await bob.$eval('#incoming-call', (e) => e.getBoundingClientRect().toJSON());
    assert.ok(box.left >= 0 && box.right <= size.width, `the card fits: ${JSON.stringify(box)}`);
    await screenshot(bob, name('incoming', scheme, size));
  }
  await set(bob, 'light', { width: 1100, height: 760 });
  await bob.click('#incoming-call-answer');
  await Promise.all([activeCall(alice), activeCall(bob)]);
  await bob.click('#call-mute');
  await alice.waitForSelector('#call-remote-media:not([hidden])');
  await alice.waitForSelector('#call-quality:not([hidden])');

  for (const [scheme, size] of looks) {
    await set(alice, scheme, size);
    await alice.bringToFront();
    await alice.waitForTimeout(300);
    const stage = await alice.$eval('#call-stage', (e) => e.getBoundingClientRect().toJSON());
    assert.ok(stage.width > 300 && stage.right <= size.width, `the call screen fits: ${JSON.stringify(stage)}`);
    const controls = await alice.$eval('.call-controls', (e) => e.getBoundingClientRect().toJSON());
    assert.ok(controls.bottom <= size.height && controls.left >= 0 && controls.right <= size.width, `the controls are in view: ${JSON.stringify(controls)}`);
    await fits(alice, 'the call screen');
    await screenshot(alice, name('active', scheme, size));
    await alice.click('#call-devices-toggle');
    await shown(alice, '#call-devices');
    await screenshot(alice, name('devices', scheme, size));
    await alice.click('#call-devices-toggle');

    await alice.click('#call-minimize');
    await shown(alice, '#call-bar');
    assert.equal(await alice.evaluate(() => document.activeElement?.id), 'call-bar-return');
    await fits(alice, 'the call bar');
    await screenshot(alice, name('bar', scheme, size));

    await alice.click('#nav-settings');
    await shown(alice, '#settings-calls');
    await alice.click('#settings-media-test');
    await alice.waitForFunction(() => document.querySelector('#settings-camera-preview')?.readyState >= 2);
    await alice.$eval('#settings-calls', (e) => e.scrollIntoView());
    await fits(alice, 'Settings');
    await screenshot(alice, name('settings', scheme, size));
    await alice.click('#settings-media-test');
    await alice.click('#nav-chats');
    await alice.click('#call-bar-return');
    await shown(alice, '#call-stage');
  }
  await alice.click('#call-hang-up');
  await shown(alice, '#call-outcome');
  await screenshot(alice, 'call-outcome-400-dark');
});
