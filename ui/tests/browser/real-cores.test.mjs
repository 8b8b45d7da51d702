// Parley's UI in Chromium against real cores: two `parley-bridge` processes (the app's own
// commands, core and peer connections, on Tauri's mock runtime) and a real `parley-signal`.
// Nothing is mocked between the two pages: sign-up and presence go through the server, call
// signaling between the cores (their data channel, or the server's signed relay), media through
// Chromium's WebRTC.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { openApps, screenshot, useFakeMedia } from './harness.mjs';
import { activeCall, gone, label, probe, seesPicture, shown, soundPeak, text, waitText } from './call-probes.mjs';
import { joinRoom, signUp, startRealCores } from './real-cores.mjs';

useFakeMedia();

/** @type {Awaited<ReturnType<typeof startRealCores>>} */
let cores;
beforeEach(async () => {
  cores = await startRealCores(['alice', 'bob']);
});
afterEach(() => cores?.stop());

/**
 * An init script: this page's browser has no WebRTC, like Debian's WebKitGTK, so its calls take
 * the media bridge to Rust (docs/call-media-bridge.md) — capture and WebCodecs in the page,
 * the connection in the core.
 */
function withoutWebRtc() {
  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate']) delete window[name];
}

/** Alice and Bob signed up on the test's server, in one room, online to each other. */
async function openPair(init = [[], []]) {
  const app = await openApps([
    { params: { bridge: cores.bridges.alice }, init: [probe, ...init[0]] },
    { params: { bridge: cores.bridges.bob }, init: [probe, ...init[1]] },
  ]);
  const [alice, bob] = app.pages;
  await signUp(alice, 'alice', cores.server);
  await signUp(bob, 'bob', cores.server);
  await joinRoom(alice, 'lobby');
  await joinRoom(bob, 'lobby');
  await alice.waitForSelector(`${contact('bob')}[data-online="true"]`);
  await bob.waitForSelector(`${contact('alice')}[data-online="true"]`);
  return { app, alice, bob };
}

/** `caller` calls `callee` by video; both see and hear each other; `callee` hangs up. */
async function callBothWays(caller, callee, calleeName) {
  await caller.click(`${contact(calleeName)} button`);
  await caller.click('#call-video');
  await shown(callee, '#incoming-call');
  await callee.click('#incoming-call-answer');
  await Promise.all([activeCall(caller), activeCall(callee)]);
  await seesPicture(caller);
  await seesPicture(callee);
  assert.ok((await soundPeak(caller)) > 0.01, 'the caller hears the callee');
  assert.ok((await soundPeak(callee)) > 0.01, 'the callee hears the caller');
  await callee.click('#call-hang-up');
  for (const page of [caller, callee]) {
    await shown(page, '#call-outcome');
    await gone(page, '#call-stage');
    await page.click('#call-outcome-close');
  }
}

/** Runs `body` with the pair; on failure the cores' logs are added to the message. */
function realTest(name, init, body) {
  test(name, async () => {
    const pair = await openPair(init);
    try {
      await body(pair);
      assert.deepEqual(pair.app.errors, [], 'no errors in the pages');
    } catch (e) {
      e.message += `\n--- core logs ---\n${cores.log.join('').slice(-4000)}`;
      throw e;
    } finally {
      await pair.app.close();
    }
  });
}

const contact = (username) => `#contacts [data-username="${username}"]`;

realTest('two real cores: Alice video-calls Bob, both see and hear each other, mute reaches Bob, hanging up ends both and both histories keep the call; Bob\'s audio call back is declined', [[], []], async ({ alice, bob }) => {
  await alice.click(`${contact('bob')} button`);
  await alice.click('#call-video');
  await shown(alice, '#call-stage');
  await waitText(alice, '#call-status', 'Ringing Bob…');
  await shown(bob, '#incoming-call');
  assert.equal(await text(bob, '#incoming-call-name'), 'Alice');
  assert.equal(await text(bob, '#incoming-call-kind'), 'Incoming video call');
  await bob.click('#incoming-call-answer');
  await Promise.all([activeCall(alice), activeCall(bob)]);

  await seesPicture(alice);
  await seesPicture(bob);
  assert.ok((await soundPeak(alice)) > 0.01, 'Alice hears Bob');
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
  await screenshot(alice, 'real-cores-call');

  await alice.click('#call-mute');
  assert.equal(await label(alice, '#call-mute'), 'Unmute microphone');
  await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s microphone is off');
  await alice.click('#call-mute');
  await bob.waitForSelector('#call-remote-media', { state: 'hidden' });

  await bob.click('#call-hang-up');
  await shown(bob, '#call-outcome');
  assert.equal(await text(bob, '#call-outcome-text'), 'Call ended.');
  await shown(alice, '#call-outcome');
  assert.equal(await text(alice, '#call-outcome-text'), 'Bob hung up.');
  for (const page of [alice, bob]) {
    await gone(page, '#call-stage');
    await page.waitForFunction(() => window.__pcs.every((pc) => pc.connectionState === 'closed') && window.__tracks.every((t) => t.readyState === 'ended'));
  }
  await alice.waitForSelector('#messages .message[data-call="answered"]');
  assert.match(await text(alice, '#messages .message[data-call="answered"] .call-entry-text'), /^Outgoing video call · 0:\d\d$/);
  await bob.click(`${contact('alice')} button`);
  await bob.waitForSelector('#messages .message[data-call="answered"]');
  assert.match(await text(bob, '#messages .message[data-call="answered"] .call-entry-text'), /^Incoming video call · 0:\d\d$/);

  // The other way round, sound only: Alice declines, both are told, both keep the entry.
  await bob.click('#call-outcome-close');
  await alice.click('#call-outcome-close');
  await bob.click('#call-audio');
  await shown(alice, '#incoming-call');
  assert.equal(await text(alice, '#incoming-call-kind'), 'Incoming audio call');
  await alice.click('#incoming-call-decline');
  await waitText(bob, '#call-outcome-text', 'Alice declined the call.');
  await waitText(alice, '#call-outcome-text', 'You declined the call.');
  await bob.waitForSelector('#messages .message[data-call="declined"]');
  await alice.waitForSelector('#messages .message[data-call="declined"]');
});

realTest('interop: Alice\'s page has no WebRTC (its media goes through Rust) and Bob\'s has; they call each other both ways, each decoding the other', [[withoutWebRtc], []], async ({ alice, bob }) => {
  await callBothWays(alice, bob, 'bob');
  assert.equal(await alice.evaluate(() => window.__pcs.length), 0, 'Alice\'s page made no peer connection of its own');
  await callBothWays(bob, alice, 'alice');
  await screenshot(alice, 'bridged-call-interop');
});

realTest('both pages without WebRTC (two Linux windows): a video call through both cores\' media connections; mute silences the other side', [[withoutWebRtc], [withoutWebRtc]], async ({ alice, bob }) => {
  await alice.click(`${contact('bob')} button`);
  await alice.click('#call-video');
  await shown(bob, '#incoming-call');
  await bob.click('#incoming-call-answer');
  await Promise.all([activeCall(alice), activeCall(bob)]);
  assert.ok((await soundPeak(bob)) > 0.01, 'Bob hears Alice');
  await alice.click('#call-mute');
  await bob.waitForFunction(() => document.querySelector('#call-remote-media')?.textContent === 'Alice’s microphone is off');
  await new Promise((r) => setTimeout(r, 1000));
  const muted = await soundPeak(bob);
  assert.ok(muted < 0.005, `Bob hears nothing while Alice is muted (peak ${muted})`);
  await alice.click('#call-mute');
  await bob.click('#call-hang-up');
  await shown(alice, '#call-outcome');
  await callBothWays(bob, alice, 'alice');
});
