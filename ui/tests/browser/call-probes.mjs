// What the call tests look at in a page: the peer connections, media tracks and tones it made
// (`probe`, an init script), whether the other side's picture arrives and moves, and how loud its
// sound is. Shared by the tests over mock cores (calls.test.mjs) and over real ones
// (real-cores.test.mjs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/**
 * Runs in each page before its scripts: notes the peer connections made, the getUserMedia calls
 * (and fails them on demand: `__gumFail` = 'video' refuses the camera, 'all' finds no device) and
 * the oscillators of the ring tones.
 */
export function probe() {
  // The bridged call's player (ui/src/calls/bridged/audio-receiver.ts), whose sound plays in its
  // own audio context rather than through #call-remote-audio.
  window.__playback = null;
  const Worklet = window.AudioWorkletNode;
  if (typeof Worklet === 'function') {
    window.AudioWorkletNode = class extends Worklet {
      constructor(context, name, options) {
        super(context, name, options);
        if (name === 'parley-playback') window.__playback = this;
      }
    };
  }
  const pcs = [];
  Object.defineProperty(window, '__pcs', { value: pcs });
  const Peer = window.RTCPeerConnection;
  if (typeof Peer === 'function') {
    window.RTCPeerConnection = class extends Peer {
      constructor(...args) {
        super(...args);
        pcs.push(this);
      }
    };
  }
  const gum = [];
  const tracks = [];
  Object.defineProperty(window, '__gum', { value: gum });
  Object.defineProperty(window, '__tracks', { value: tracks });
  window.__gumFail = null;
  const devices = navigator.mediaDevices;
  if (devices !== undefined) {
    const open = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (c) => {
      gum.push(JSON.parse(JSON.stringify(c)));
      const fail = window.__gumFail;
      if (fail === 'all') throw new DOMException('Requested device not found', 'NotFoundError');
      if (fail === 'video' && c.video) throw new DOMException('Permission denied', 'NotAllowedError');
      const stream = await open(c);
      tracks.push(...stream.getTracks());
      return stream;
    };
  }
  const tones = [];
  Object.defineProperty(window, '__tones', { value: tones });
  const create = BaseAudioContext.prototype.createOscillator;
  BaseAudioContext.prototype.createOscillator = function () {
    const osc = create.call(this);
    tones.push({ osc, at: performance.now() });
    return osc;
  };
}

export const shown = (page, selector) => page.waitForSelector(`${selector}:not([hidden])`);
export const gone = (page, selector) => page.waitForSelector(selector, { state: 'hidden' });
export const text = (page, selector) => page.textContent(selector);
export const label = (page, selector) => page.getAttribute(selector, 'aria-label');
export const activeCall = (page) => shown(page, '#call-stage[data-phase="active"]');
export const waitText = (page, selector, want) =>
  page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want, [selector, want]);

/** Reads the other side's picture (ui/tests/shared/remote-picture.js): width, variance, how much it changed. */
const REMOTE_PICTURE = readFileSync(new URL('../shared/remote-picture.js', import.meta.url), 'utf8');
export const picture = (page) => page.evaluate(`(${REMOTE_PICTURE})({ waitMs: 8000, looks: 4, presented: true })`);

/** Decodes moving, non-blank frames of the other side. */
export async function seesPicture(page) {
  // Headless Chromium paints (and so presents video frames in) the page in front only.
  await page.bringToFront();
  const p = await picture(page);
  assert.ok(p.width > 0, `frames arrive: ${JSON.stringify(p)}`);
  assert.ok(p.variance > 50, `not blank: ${JSON.stringify(p)}`);
  assert.ok(p.changed > 0.5, `moving: ${JSON.stringify(p)}`);
}

/** The loudest sample of the other side's sound within 3 s (silence is 0). */
export const soundPeak = (page) =>
  page.evaluate(async () => {
    const audio = document.querySelector('#call-remote-audio');
    // The webview's WebRTC: the <audio>'s stream; the bridge: its player, in the call's context.
    const stream = audio?.srcObject;
    const hasTrack = stream instanceof MediaStream && stream.getAudioTracks().length > 0;
    const player = hasTrack ? null : window.__playback;
    if (!hasTrack && player === null) return 0;
    const ctx = player === null ? new AudioContext() : player.context;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    if (player === null) ctx.createMediaStreamSource(stream).connect(analyser);
    else player.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let peak = 0;
    const started = performance.now();
    while (peak < 0.05 && performance.now() - started < 3000) {
      await new Promise((r) => setTimeout(r, 40));
      analyser.getFloatTimeDomainData(samples);
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
    }
    if (player === null) await ctx.close();
    else player.disconnect(analyser);
    return peak;
  });

