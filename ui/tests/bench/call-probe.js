// The call latency benchmark's page side (tests/benches/calls.rs, ui/tests/bench/calls.mjs),
// the same file in WebKitGTK (run through WebDriver once the page has loaded) and in Chromium
// (an init script). Plain script, no imports: neither way of injecting it loads modules.
//
// Sender: `getUserMedia` answers with a synthetic stream instead of the devices: a 640×480
// canvas at 30 fps showing the wall clock (Date.now()) as two rows of big black/white cells
// over a moving background, and a 1 kHz tone burst starting at every whole wall-clock second.
// Receiver: every third frame the remote <video> presents is decoded (latency = Date.now() −
// stamp) — on the bridged path, every third frame drawn on its canvas, at the next animation
// frame — and the onsets of the bursts in the sound the call plays are found (latency = onset −
// the whole second). Both pages run on one machine, so they share Date.now()'s clock.
//
// The other side's sound is read where the page plays it: with the webview's WebRTC, the remote
// MediaStream of #call-remote-audio through an AnalyserNode of a context of our own; on the
// bridged path (ui/src/calls/bridged/audio-receiver.ts) the playback worklet's output, through
// an AnalyserNode in the call's own AudioContext (the worklet node is noted as it is made), so
// no second context has to hear a stream of the first.
(() => {
  if (window.__latency !== undefined) return;

  const WIDTH = 640;
  const HEIGHT = 480;
  const FPS = 30;
  // Cells: 2 rows of 28, 22 px square (VP8 blurs edges, not 22 px blocks).
  const CELL = 22;
  const COLS = 28;
  const X0 = 12;
  const Y0 = 14;
  const CODE_HEIGHT = Y0 * 2 + CELL * 2;
  // Cell layout: white, black guard; 44 bits of the stamp (ms); 8 check bits; black, white guard.
  const STAMP_BITS = 44;
  const CHECK_BITS = 8;
  const TONE_HZ = 1000;
  const BURST_S = 0.1;
  const THRESHOLD = 0.08;
  // Quiet this long before a new burst may start: one onset per second.
  const QUIET_S = 0.4;
  const MAX_AGE_MS = 5000;
  /** Where in its second a wall-clock time is, in ms: −100 to 900 (an onset just early is early). */
  const inSecond = (wall) => {
    const ms = wall - Math.floor(wall / 1000) * 1000;
    return ms > 900 ? ms - 1000 : ms;
  };

  function check(stamp) {
    let sum = 0xa5;
    for (let v = stamp; v > 0; v = Math.floor(v / 256)) sum = (sum * 31 + (v % 256)) % 256;
    return sum;
  }

  /** The cells' colours (true = white) for `stamp`. */
  function cells(stamp) {
    const out = [true, false];
    for (let i = STAMP_BITS - 1; i >= 0; i--) out.push(Math.floor(stamp / 2 ** i) % 2 === 1);
    const c = check(stamp);
    for (let i = CHECK_BITS - 1; i >= 0; i--) out.push(((c >> i) & 1) === 1);
    out.push(false, true);
    return out;
  }

  const cellOrigin = (i) => [X0 + (i % COLS) * CELL, Y0 + Math.floor(i / COLS) * CELL];

  // --- the sender ------------------------------------------------------------------------

  /** Wall-clock ↔ AudioContext time: context time t was rendered at t·1000 + offset (ms). */
  function clockOf(ctx) {
    const samples = [];
    return {
      sample() {
        const now = Date.now();
        const t = ctx.currentTime;
        samples.push({ at: now, offset: now - t * 1000 });
        while (samples.length > 0 && samples[0].at < now - 3000) samples.shift();
      },
      // A look always comes after the render it sees: the smallest difference is the closest.
      offset() {
        let best = Infinity;
        for (const s of samples) best = Math.min(best, s.offset);
        return best;
      },
      ready: () => samples.length >= 20,
    };
  }

  /** Finds burst onsets in what `analyser` sees, as wall-clock times; polled every 10 ms. */
  function onsetDetector(ctx, analyser, onOnset) {
    const clock = clockOf(ctx);
    const buffer = new Float32Array(analyser.fftSize);
    let last = ctx.currentTime;
    let lastLoud = -Infinity;
    let loud = false;
    const timer = setInterval(() => {
      clock.sample();
      const now = ctx.currentTime;
      if (now === last || !clock.ready()) {
        last = now;
        return;
      }
      analyser.getFloatTimeDomainData(buffer);
      const n = buffer.length;
      const fresh = Math.min(n, Math.round((now - last) * ctx.sampleRate));
      last = now;
      for (let i = n - fresh; i < n; i++) {
        if (Math.abs(buffer[i]) < THRESHOLD) continue;
        const t = now - (n - i) / ctx.sampleRate;
        if (!loud && t - lastLoud > QUIET_S) onOnset(t * 1000 + clock.offset());
        loud = true;
        lastLoud = t;
      }
      if (loud && now - lastLoud > QUIET_S) loud = false;
    }, 10);
    return () => clearInterval(timer);
  }

  let source = null;

  /** The synthetic camera and microphone, made once; each call gets clones of their tracks. */
  function synthetic() {
    if (source !== null) return source;
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const g = canvas.getContext('2d', { alpha: false });
    let drawn = 0;
    const draw = () => {
      const stamp = Date.now();
      // A moving background, like a camera's: bands and a block crossing the picture.
      const phase = (stamp / 20) % WIDTH;
      for (let x = 0; x < WIDTH; x += 40) {
        g.fillStyle = `hsl(${(x + phase) % 360}, 60%, ${35 + ((x / 40) % 3) * 10}%)`;
        g.fillRect(x, CODE_HEIGHT, 40, HEIGHT - CODE_HEIGHT);
      }
      g.fillStyle = '#e0c020';
      g.fillRect(phase, CODE_HEIGHT + 100, 120, 120);
      g.fillStyle = '#808080';
      g.fillRect(0, 0, WIDTH, CODE_HEIGHT);
      cells(stamp).forEach((white, i) => {
        const [x, y] = cellOrigin(i);
        g.fillStyle = white ? '#ffffff' : '#000000';
        g.fillRect(x, y, CELL, CELL);
      });
      drawn += 1;
    };
    draw();
    const video = canvas.captureStream(FPS).getVideoTracks()[0];
    setInterval(draw, 1000 / FPS);

    const ctx = new AudioContext({ latencyHint: 'interactive' });
    void ctx.resume().catch(() => undefined);
    const osc = ctx.createOscillator();
    osc.frequency.value = TONE_HZ;
    const gate = ctx.createGain();
    gate.gain.value = 0;
    osc.connect(gate);
    const out = ctx.createMediaStreamDestination();
    gate.connect(out);
    osc.start();
    // The same detector on the sound as it leaves: how far the scheduling and the detection
    // themselves are from the whole second (a check on the method, reported as "self").
    const self = ctx.createAnalyser();
    self.fftSize = 2048;
    gate.connect(self);
    const selfOnsets = [];
    onsetDetector(ctx, self, (wall) => selfOnsets.push(wall));
    const clock = clockOf(ctx);
    let scheduled = Math.ceil(Date.now() / 1000) * 1000;
    setInterval(() => {
      clock.sample();
      if (!clock.ready()) return;
      const now = Date.now();
      if (scheduled < now + 200) scheduled = Math.ceil((now + 200) / 1000) * 1000;
      while (scheduled < now + 1500) {
        const t = (scheduled - clock.offset()) / 1000;
        gate.gain.setValueAtTime(0.5, t);
        gate.gain.setValueAtTime(0, t + BURST_S);
        scheduled += 1000;
      }
    }, 20);
    const audio = out.stream.getAudioTracks()[0];
    source = { video, audio, ctx, selfOnsets, drawn: () => drawn };
    return source;
  }

  const devices = navigator.mediaDevices;
  if (devices !== undefined && typeof devices.getUserMedia === 'function') {
    const real = devices.getUserMedia.bind(devices);
    let permitted = false;
    devices.getUserMedia = async (constraints) => {
      // Chromium gathers usable loopback ICE candidates only once the page was granted capture.
      if (!permitted) {
        permitted = true;
        try {
          for (const t of (await real({ audio: true })).getTracks()) t.stop();
        } catch {
          // WebKit without devices, say: the synthetic stream needs none.
        }
      }
      const s = synthetic();
      const tracks = [];
      // The benchmark's microphone mode: the device's sound (tone bursts played into it from
      // outside, tests/src/pulse_mic.rs), through the webview's own capture.
      if (constraints?.audio && window.__latencyRealMicrophone === true) tracks.push(...(await real({ audio: constraints.audio })).getAudioTracks());
      else if (constraints?.audio) tracks.push(s.audio.clone());
      if (constraints?.video) tracks.push(s.video.clone());
      return new MediaStream(tracks);
    };
  }

  // Microphone sources the page makes (the bridged path's capture), the latest kept: the
  // sender's own sound is read there too, to tell the capture's delay from the rest.
  let capture = null;
  const Context = window.AudioContext;
  if (typeof Context === 'function') {
    const make = Context.prototype.createMediaStreamSource;
    Context.prototype.createMediaStreamSource = function (stream) {
      const node = make.call(this, stream);
      if (source === null || this !== source.ctx) capture = node;
      return node;
    };
  }

  // The bridged path's playback worklet, noted as the page makes it.
  let playback = null;
  const Worklet = window.AudioWorkletNode;
  if (typeof Worklet === 'function') {
    window.AudioWorkletNode = class extends Worklet {
      constructor(context, name, options) {
        super(context, name, options);
        if (name === 'parley-playback') playback = this;
      }
    };
  }

  // Frames the bridged path draws on the canvas that shows the other side's picture
  // (ui/src/calls/bridged/video-receiver.ts): each draw of a decoded VideoFrame there.
  let remoteDrawn = null;
  const Draw = window.CanvasRenderingContext2D;
  if (typeof Draw === 'function' && typeof window.VideoFrame === 'function') {
    const drawImage = Draw.prototype.drawImage;
    Draw.prototype.drawImage = function (image, ...rest) {
      const out = drawImage.call(this, image, ...rest);
      if (remoteDrawn !== null && image instanceof VideoFrame && this.canvas.id === 'call-remote-video') remoteDrawn(this.canvas);
      return out;
    };
  }

  // --- the receiver -----------------------------------------------------------------------

  let run = null;

  /** Reads the stamp off `view`: the remote <video>, or the canvas the bridged path draws on. */
  function decodeFrame(g, view, scratch) {
    const isVideo = view instanceof HTMLVideoElement;
    const w = isVideo ? view.videoWidth : view.width;
    const h = isVideo ? view.videoHeight : view.height;
    if (w === 0 || h === 0) return { kind: 'none' };
    // Only the band of cells, scaled to the sent size (WebRTC may send a smaller picture).
    g.drawImage(view, 0, 0, w, (h * CODE_HEIGHT) / HEIGHT, 0, 0, WIDTH, CODE_HEIGHT);
    const data = g.getImageData(0, 0, WIDTH, CODE_HEIGHT).data;
    const level = (i) => {
      const [x, y] = cellOrigin(i);
      let sum = 0;
      for (let dy = 7; dy < CELL - 7; dy++) {
        for (let dx = 7; dx < CELL - 7; dx++) {
          const p = ((y + dy) * WIDTH + x + dx) * 4;
          sum += data[p] + data[p + 1] + data[p + 2];
        }
      }
      return sum / (3 * (CELL - 14) * (CELL - 14));
    };
    const count = 2 + STAMP_BITS + CHECK_BITS + 2;
    for (let i = 0; i < count; i++) scratch[i] = level(i);
    const white = (scratch[0] + scratch[count - 1]) / 2;
    const black = (scratch[1] + scratch[count - 2]) / 2;
    if (white - black < 80) return { kind: 'unreadable' };
    const mid = (white + black) / 2;
    let stamp = 0;
    for (let i = 0; i < STAMP_BITS; i++) stamp = stamp * 2 + (scratch[2 + i] > mid ? 1 : 0);
    let c = 0;
    for (let i = 0; i < CHECK_BITS; i++) c = c * 2 + (scratch[2 + STAMP_BITS + i] > mid ? 1 : 0);
    if (c !== check(stamp)) return { kind: 'unreadable' };
    return { kind: 'stamp', stamp };
  }

  function watchVideo(r) {
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = CODE_HEIGHT;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    const scratch = new Float64Array(64);
    let lastStamp = -1;
    // WebKitGTK without GPU compositing (the app turns it off where there is no GPU) offers
    // requestVideoFrameCallback but never calls back: then the probe polls, reads every look,
    // and counts a frame presented for each new stamp.
    let callbacks = false;
    const stamped = (result, now) => {
      if (result.kind === 'unreadable') r.video.unreadable += 1;
      if (result.kind === 'stamp' && result.stamp !== lastStamp) {
        const latency = now - result.stamp;
        if (latency < 0 || latency > MAX_AGE_MS) r.video.rejected += 1;
        else {
          r.video.samples.push(latency);
          lastStamp = result.stamp;
          return true;
        }
      } else if (result.kind === 'stamp') r.video.repeated += 1;
      return false;
    };
    // The bridged path's canvas: a frame drawn there shows at the next rendering update (the
    // next animation frame), when it is counted, and every third is read, as the <video>'s.
    let painting = false;
    remoteDrawn = (view) => {
      if (r.stopped || painting) return;
      painting = true;
      let done = false;
      const painted = () => {
        if (done) return;
        done = true;
        painting = false;
        if (r.stopped) return;
        r.video.presented += 1;
        if (r.video.presented % 3 !== 0) return;
        r.video.looks += 1;
        const now = Date.now();
        let result;
        try {
          result = decodeFrame(g, view, scratch);
        } catch {
          result = { kind: 'unreadable' };
        }
        stamped(result, now);
      };
      requestAnimationFrame(painted);
      setTimeout(painted, 100);
    };
    const look = (fromCallback) => {
      if (r.stopped) return;
      const video = document.getElementById('call-remote-video');
      // A canvas is read as it is drawn on (above).
      if (video instanceof HTMLCanvasElement) {
        setTimeout(() => look(false), 500);
        return;
      }
      if (video === null || video.readyState < 2) {
        setTimeout(() => look(false), 50);
        return;
      }
      if (fromCallback) callbacks = true;
      const now = Date.now();
      if (callbacks) r.video.presented += 1;
      // Reading a <video> back costs WebKit about as much as drawing it (video-sender.ts): every
      // third frame is read, so that the probe does not starve the page it measures.
      let result = { kind: 'skipped' };
      if (!callbacks || r.video.presented % 3 === 0) {
        r.video.looks += 1;
        try {
          result = decodeFrame(g, video, scratch);
        } catch {
          result = { kind: 'unreadable' };
        }
      }
      if (stamped(result, now) && !callbacks) r.video.presented += 1;
      // Each frame the element presents; where it can't say, each repaint (repeats skipped, and
      // then `presented` counts repaints); where it never says, a look every 15 ms.
      let done = false;
      const next = (viaCallback) => {
        if (done) return;
        done = true;
        look(viaCallback);
      };
      if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(() => next(true));
      else requestAnimationFrame(() => next(true));
      setTimeout(() => next(false), callbacks ? 1000 : 15);
    };
    look(false);
  }

  function watchAudio(r) {
    let ctx = null;
    let node = playback;
    if (node !== null && node.context.state !== 'closed') {
      ctx = node.context;
      r.audio.tap = 'bridged playback worklet';
    } else {
      const element = document.getElementById('call-remote-audio');
      const stream = element?.srcObject;
      if (!(stream instanceof MediaStream) || stream.getAudioTracks().length === 0) {
        r.audio.tap = 'none (no remote sound)';
        return () => undefined;
      }
      ctx = new AudioContext({ latencyHint: 'interactive' });
      void ctx.resume().catch(() => undefined);
      const pages = capture;
      node = ctx.createMediaStreamSource(stream);
      capture = pages; // the probe's own source is not the page's microphone
      r.audio.tap = 'remote MediaStream';
    }
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    node.connect(analyser);
    r.audio.sampleRate = ctx.sampleRate;
    const stop = onsetDetector(ctx, analyser, (wall) => {
      r.audio.samples.push(inSecond(wall));
    });
    return () => {
      stop();
      node.disconnect(analyser);
      if (ctx !== playback?.context) void ctx.close().catch(() => undefined);
    };
  }

  /** Onsets of this page's own microphone as the call's audio context gets it (bridged path). */
  function watchCapture(r) {
    const node = capture;
    if (node === null || node.context.state === 'closed') return () => undefined;
    const ctx = node.context;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    node.connect(analyser);
    r.capture.baseLatency = ctx.baseLatency ?? null;
    r.capture.outputLatency = ctx.outputLatency ?? null;
    const stop = onsetDetector(ctx, analyser, (wall) => r.capture.samples.push(inSecond(wall)));
    return () => {
      stop();
      node.disconnect(analyser);
    };
  }

  const api = {
    /** Starts measuring the other side's media (again, from nothing). */
    start() {
      api.stop();
      const s = source;
      run = {
        started: Date.now(),
        stopped: false,
        video: { samples: [], presented: 0, looks: 0, unreadable: 0, rejected: 0, repeated: 0 },
        audio: { samples: [], tap: '', sampleRate: 0 },
        capture: { samples: [], baseLatency: null, outputLatency: null },
        sentFrames: s === null ? 0 : s.drawn(),
        selfFrom: s === null ? 0 : s.selfOnsets.length,
      };
      const r = run;
      watchVideo(r);
      r.stopAudio = watchAudio(r);
      r.stopCapture = watchCapture(r);
      return { audioTap: r.audio.tap };
    },
    /** Stops measuring; what was measured since `start`. */
    stop() {
      const r = run;
      if (r === null) return null;
      run = null;
      r.stopped = true;
      r.stopAudio?.();
      r.stopCapture?.();
      const s = source;
      const self = s === null ? [] : s.selfOnsets.slice(r.selfFrom).map(inSecond);
      return {
        seconds: (Date.now() - r.started) / 1000,
        video: r.video,
        audio: { samples: r.audio.samples, tap: r.audio.tap, sampleRate: r.audio.sampleRate },
        sent: { frames: s === null ? 0 : s.drawn() - r.sentFrames, selfAudio: self, capture: r.capture },
      };
    },
  };
  Object.defineProperty(window, '__latency', { value: api });
})();
