// What the call tests look at in a page: the peer connections, media tracks and tones it made
// (`probe`, an init script), whether the other side's picture arrives and moves, and how loud its
// sound is. Shared by the tests over mock cores (calls.test.mjs) and over real ones
// (real-cores.test.mjs).
import assert from 'node:assert/strict';

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

/** The other side's picture: its size, how varied it is (blank is 0) and how much it changed (over up to 2.8 s). */
export const picture = (page) =>
  page.evaluate(async () => {
    const video = document.querySelector('#call-remote-video');
    const started = performance.now();
    while (video.readyState < 2 || video.videoWidth === 0) {
      if (performance.now() - started > 8000) return { width: 0, variance: 0, changed: 0 };
      await new Promise((r) => setTimeout(r, 50));
    }
    const grab = () => {
      const canvas = document.createElement('canvas');
      canvas.width = 160;
      canvas.height = 120;
      const g = canvas.getContext('2d', { willReadFrequently: true });
      g.drawImage(video, 0, 0, 160, 120);
      return g.getImageData(0, 0, 160, 120).data;
    };
    // A frame presented now, and another 700 ms later (not one cached from before).
    const presented = () =>
      new Promise((r) => {
        video.requestVideoFrameCallback(() => r());
        setTimeout(r, 2000);
      });
    await presented();
    const a = grab();
    let sum = 0;
    let sumSq = 0;
    const n = a.length / 4;
    for (let i = 0; i < a.length; i += 4) {
      const y = (a[i] + a[i + 1] + a[i + 2]) / 3;
      sum += y;
      sumSq += y * y;
    }
    const mean = sum / n;
    // Up to four looks 700 ms apart: a loaded machine may present a slow-moving picture.
    let changed = 0;
    for (let look = 0; look < 4 && changed <= 0.5; look++) {
      await new Promise((r) => setTimeout(r, 700));
      await presented();
      const b = grab();
      let diff = 0;
      for (let i = 0; i < a.length; i += 4) {
        diff += (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2])) / 3;
      }
      changed = diff / n;
    }
    return { width: video.videoWidth, variance: sumSq / n - mean * mean, changed };
  });

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

