// Browser tests of calls in a webview without WebRTC, as Debian's WebKitGTK: an init script takes
// `RTCPeerConnection` (and its kin) away in both pages before the app loads, so their calls take
// the media bridge (docs/call-media-bridge.md): each page captures, encodes with WebCodecs,
// decodes and plays, and its mock core's "Rust connection" (mock-media.ts) carries the records to
// the other page through the call relay. Chromium's fake camera and microphone; each side must
// decode the other's moving picture and hear its sound.
import assert from 'node:assert/strict';
import { callsOf, mock, openContact, recordHtmlParsing, screenshot, useFakeMedia } from './harness.mjs';
import { activeCall, gone, label, seesPicture, shown, soundPeak, text, waitText } from './call-probes.mjs';
import { pairTest as pairOf } from './mock-pair.mjs';

useFakeMedia();

/** Runs in each page before its scripts: a web engine without WebRTC. */
function noWebRtc() {
  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate']) delete window[name];
}

/** Alice and Bob without WebRTC (`noWebRtc` before their scripts), as `pairTest` of mock-pair.mjs. */
function pairTest(name, options, body) {
  pairOf(name, { ...options, init: [noWebRtc, ...(options.init ?? [])] }, body);
}

async function connect(alice, bob, video = true) {
  await openContact(alice, 'bob');
  await alice.click(video ? '#call-video' : '#call-audio');
  await shown(alice, '#call-stage');
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-answer');
  await Promise.all([activeCall(alice), activeCall(bob)]);
}

const media = (page) => mock(page, 'mediaNow');
/** How many records of `kind` the page sends in `ms` (after `settleMs` for what was under way). */
async function sentDuring(page, kind, ms = 1200, settleMs = 400) {
  await page.waitForTimeout(settleMs);
  const before = (await media(page)).sent[kind];
  await page.waitForTimeout(ms);
  return (await media(page)).sent[kind] - before;
}
const outcomeIs = (page, words) => waitText(page, '#call-outcome-text', words);

pairTest(
  'a video call without WebRTC: each sees and hears the other through the bridge; mute and camera off stop their records; devices switch mid-call; hang up ends both',
  {},
  async ({ alice, bob }) => {
    await openContact(alice, 'bob');
    assert.equal(await alice.getAttribute('#call-video', 'aria-disabled'), null, 'calls are available without WebRTC');
    await connect(alice, bob);

    // The media went through the bridge: no peer connection in the page, one Rust connection each.
    for (const page of [alice, bob]) assert.equal(await page.evaluate(() => window.__pcs.length), 0);
    const id = await alice.evaluate(() => window.__parleyMock.callNow()?.id);
    assert.deepEqual(await callsOf(alice, 'media_open'), [{ callId: id, offerer: true, video: true, iceServers: [] }]);
    assert.deepEqual(await callsOf(bob, 'media_open'), [{ callId: id, offerer: false, video: true, iceServers: [] }]);
    // The Rust connections' descriptions and candidates travel as the call's own signals.
    const aliceSignals = (await callsOf(alice, 'call_signal')).map((c) => c.signal);
    assert.deepEqual(aliceSignals.map((s) => (s.kind === 'sdp' ? s.sdp_kind : s.candidate === '' ? 'end' : 'candidate')), ['offer', 'candidate', 'end']);
    const bobSignals = (await callsOf(bob, 'call_signal')).map((c) => c.signal);
    assert.equal(bobSignals[0].sdp_kind, 'answer');
    assert.deepEqual((await callsOf(bob, 'media_signal')).map((c) => c.signal.kind), ['sdp', 'ice', 'ice']);
    assert.equal((await callsOf(bob, 'media_signal'))[0].signal.sdp_kind, 'offer');
    assert.deepEqual((await callsOf(alice, 'media_signal')).map((c) => c.signal.sdp_kind ?? c.signal.kind), ['answer', 'ice', 'ice']);
    assert.deepEqual((await callsOf(alice, 'call_media_state')).map((c) => c.failure), [null]);
    assert.deepEqual((await callsOf(bob, 'call_media_state')).map((c) => c.failure), [null]);
    // Records go with the call in the header.
    await alice.waitForFunction(() => window.__parleyMock.mediaNow().sent.keys > 0);
    assert.ok((await callsOf(alice, 'media_send')).every((c) => c.callId === id && c.size > 0));

    await seesPicture(alice);
    await seesPicture(bob);
    // Their picture is the decoder's canvas, our preview the <video> the encoder reads: one <video> plays the camera.
    const previews = (page) =>
      page.evaluate(() => [...document.querySelectorAll('video')].filter((v) => v.srcObject?.getVideoTracks().length > 0).map((v) => `${v.id} ${v.srcObject.getVideoTracks()[0].label}`));
    assert.equal(await alice.evaluate(() => document.querySelector('#call-remote-video')?.tagName), 'CANVAS');
    assert.deepEqual(await previews(alice), ['call-local-video fake_device_0']);
    assert.ok(await alice.isVisible('#call-local-video'));
    assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
    assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
    // The quality indicator reads the bridge's statistics.
    await alice.waitForSelector('#call-quality[data-quality="good"]:not([hidden])');
    assert.match(await alice.getAttribute('#call-quality', 'aria-label'), /^Good connection: round trip 24 ms/);
    await screenshot(alice, 'bridged-call-active');
    await screenshot(bob, 'bridged-call-active-bob');

    // Key frames: the first, one when the other side opened, and one every 2 s or so.
    const now = await media(alice);
    assert.ok(now.sent.keys >= 2 && now.sent.keys * 8 < now.sent.video, `key frames now and then: ${JSON.stringify(now.sent)}`);
    // One `media_receive` waiting at a time.
    assert.equal(now.maxWaiting, 1);
    assert.equal((await media(bob)).maxWaiting, 1);

    // Mute: no sound records while muted; Bob is told; unmuted, they flow again.
    // 50 sound records a second, and 20–30 pictures (fewer on a busy machine: the bounds are loose).
    assert.ok((await sentDuring(alice, 'audio')) > 15, 'sound records flow');
    await alice.click('#call-mute');
    await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s microphone is off');
    assert.equal(await sentDuring(alice, 'audio', 1200, 1000), 0, 'no sound records while muted (what was being encoded settles first)');
    assert.ok((await sentDuring(alice, 'video')) > 5, 'the picture goes on');
    await alice.click('#call-mute');
    await bob.waitForSelector('#call-remote-media', { state: 'hidden' });
    assert.ok((await sentDuring(alice, 'audio')) > 15, 'sound records again');
    assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice again');

    // Minimized (the preview out of sight): the picture still goes.
    await alice.click('#call-minimize');
    await shown(alice, '#call-bar');
    assert.ok((await sentDuring(alice, 'video')) > 5, 'the picture goes on while minimized');
    await alice.click('#call-bar-return');
    await activeCall(alice);

    // Camera off: no video records; on again, the picture comes back (from a key frame).
    await alice.click('#call-camera');
    await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s camera is off');
    await shown(bob, '#call-remote-placeholder');
    const keysBefore = (await media(alice)).sent.keys;
    assert.equal(await sentDuring(alice, 'video', 1200, 1000), 0, 'no video records with the camera off (what was being encoded settles first)');
    assert.ok((await sentDuring(alice, 'audio')) > 15, 'the sound goes on');
    await alice.click('#call-camera');
    await shown(bob, '#call-remote-video');
    await alice.waitForFunction((keys) => window.__parleyMock.mediaNow().sent.keys > keys, keysBefore);
    await seesPicture(bob);

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
    assert.equal(await alice.evaluate(() => window.__tracks.filter((t) => t.readyState === 'live').map((t) => t.label).sort().join()), 'Fake Audio Input 1,fake_device_2', 'the old devices are let go');
    assert.equal((await callsOf(alice, 'media_open')).length, 1, 'no new connection');
    assert.ok((await sentDuring(alice, 'video')) > 5, 'picture records from the new camera');
    assert.deepEqual(await previews(alice), ['call-local-video fake_device_2'], 'the preview shows the new camera');
    assert.ok((await sentDuring(alice, 'audio')) > 15, 'sound records from the new microphone');
    await seesPicture(bob);
    assert.ok((await soundPeak(bob)) > 0.01, 'Bob still hears Alice');
    assert.equal(await alice.getAttribute('#call-stage', 'data-phase'), 'active');

    // Hang up: both screens say so; the connections close, and the media stops.
    await alice.click('#call-hang-up');
    await outcomeIs(alice, 'Call ended.');
    await outcomeIs(bob, 'Alice hung up.');
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => window.__parleyMock.mediaNow().closed && window.__tracks.every((t) => t.readyState === 'ended'));
    }
    assert.deepEqual(await callsOf(alice, 'media_close'), [{ callId: id }]);
    const sent = (await media(alice)).sent.video;
    await alice.waitForTimeout(500);
    assert.equal((await media(alice)).sent.video, sent, 'nothing is sent after the call');
  },
);

pairTest('an audio call without WebRTC: sound both ways, no picture records; Bob mutes and hangs up', {}, async ({ alice, bob }) => {
  await connect(alice, bob, false);
  assert.deepEqual((await callsOf(alice, 'media_open')).map((c) => c.video), [false]);
  for (const page of [alice, bob]) {
    assert.equal(await page.isVisible('#call-remote-video'), false);
    assert.equal(await page.isVisible('#call-remote-placeholder'), true);
  }
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
  await screenshot(alice, 'bridged-call-audio');
  // Sound records, 50 a second; no picture ones.
  await alice.waitForFunction(() => window.__parleyMock.mediaNow().sent.audio > 50);
  const aliceNow = await media(alice);
  assert.equal(aliceNow.sent.video, 0);
  assert.equal(aliceNow.received.video, 0);
  await bob.click('#call-mute');
  await alice.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Bob’s microphone is off');
  assert.equal(await sentDuring(bob, 'audio'), 0, 'no sound records while muted');
  await bob.click('#call-hang-up');
  await outcomeIs(alice, 'Bob hung up.');
  await outcomeIs(bob, 'Call ended.');
  await gone(alice, '#call-stage');
});

pairTest('garbled records and events from the bridge are dropped: the call goes on with picture and sound', { init: [recordHtmlParsing] }, async ({ alice, bob }) => {
  await connect(alice, bob);
  await seesPicture(alice);
  const header = (kind, flags, length, time = 0) => {
    const h = new Uint8Array(20);
    const v = new DataView(h.buffer);
    v.setUint8(0, kind);
    v.setUint8(1, flags);
    v.setUint32(4, length, true);
    v.setBigUint64(8, BigInt(time), true);
    return [...h];
  };
  const junk = (n, seed) => Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) % 256);
  // A VP8 key frame's header over junk: it fails to decode, and the picture waits for the next key frame.
  const fakeKey = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, ...junk(200, 1)];
  const inject = (bytes) => mock(alice, 'injectMedia', bytes);
  await inject([...header(1, 1, fakeKey.length, 1), ...fakeKey]);
  await inject([...header(1, 0, 300, 2), ...junk(300, 2)]);
  await inject([...header(2, 0, 60, 3), ...junk(60, 3)]);
  await inject([...header(2, 0, 0, 4)]);
  await inject([...header(9, 0, 4), 1, 2, 3, 4]);
  await inject([...header(3, 0, 5), ...new TextEncoder().encode('{"typ')]);
  await inject([...header(1, 0, 4 * 1024 * 1024 + 1), 1, 2, 3]);
  await inject([...header(1, 0, 1000), 1, 2, 3]);
  await inject([1, 2, 3]);
  for (const event of [null, 42, 'state', { type: 'state', state: 'exploded' }, { type: 'reboot' }, { type: 'signal', signal: { kind: 'start', offerer: true, ice_servers: [] } }, { type: 'signal', signal: { kind: 'sdp', sdp_kind: 'offer', sdp: '<img src=x onerror="window.__pwned=1">' } }, { type: 'stats', rtt_ms: 'fast', packets_received: -1 }]) {
    await mock(alice, 'injectMediaEvent', event);
  }
  // Nothing of it went on to the other side as a signal, or ended the call.
  await alice.waitForTimeout(2500);
  assert.equal(await alice.getAttribute('#call-stage', 'data-phase'), 'active');
  assert.equal((await callsOf(alice, 'call_signal')).filter((c) => c.signal.kind === 'sdp').length, 1, 'only our own offer went out');
  assert.deepEqual((await callsOf(alice, 'call_media_state')).map((c) => c.failure), [null]);
  await seesPicture(alice);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice still hears Bob');
  assert.equal(await alice.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(await alice.evaluate(() => window.__htmlParsed), []);
  assert.equal(await label(alice, '#call-mute'), 'Mute microphone');
  assert.equal(await text(alice, '#call-stage-name'), 'Bob');
  await alice.click('#call-hang-up');
  await outcomeIs(bob, 'Alice hung up.');
});
