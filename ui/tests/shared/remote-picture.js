// The other side's picture in a call (`#call-remote-video`: a <video>, or the canvas a bridged
// call draws on): its width, how varied it is (blank is 0) and how much it changed over a few
// looks 700 ms apart. One function expression, run in the page by the browser tests
// (ui/tests/browser/call-probes.mjs) and by the real-window tests (tests/tests/e2e.rs).
//
// Options: `waitMs`, how long the first frame may take; `looks`, at most how many looks for a
// change (a loaded machine may present a slow-moving picture); `presented`, whether each look
// waits for a frame presented first (WebKitGTK without GPU compositing never says, so there a
// look is taken as it is).
async ({ waitMs, looks, presented }) => {
  const view = () => document.querySelector('#call-remote-video');
  const grab = () => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 120;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(view(), 0, 0, 160, 120);
    return g.getImageData(0, 0, 160, 120).data;
  };
  const variance = (a) => {
    let sum = 0;
    let sumSq = 0;
    const n = a.length / 4;
    for (let i = 0; i < a.length; i += 4) {
      const y = (a[i] + a[i + 1] + a[i + 2]) / 3;
      sum += y;
      sumSq += y * y;
    }
    const mean = sum / n;
    return sumSq / n - mean * mean;
  };
  // A <video> with a frame, or a canvas drawn on (black until the first frame).
  const ready = () => {
    const v = view();
    if (v instanceof HTMLVideoElement) return v.readyState >= 2 && v.videoWidth > 0;
    return v instanceof HTMLCanvasElement && variance(grab()) > 0;
  };
  const started = performance.now();
  while (!ready()) {
    if (performance.now() - started > waitMs) return { width: 0, variance: 0, changed: 0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  // A frame presented now (not one cached from before), where the page says.
  const nextFrame = () =>
    new Promise((r) => {
      if (!presented) return r();
      const v = view();
      if (typeof v.requestVideoFrameCallback === 'function') v.requestVideoFrameCallback(() => r());
      else requestAnimationFrame(() => r());
      setTimeout(r, 2000);
    });
  await nextFrame();
  const a = grab();
  const n = a.length / 4;
  let changed = 0;
  for (let look = 0; look < looks && changed <= 0.5; look++) {
    await new Promise((r) => setTimeout(r, 700));
    await nextFrame();
    const b = grab();
    let diff = 0;
    for (let i = 0; i < a.length; i += 4) {
      diff += (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2])) / 3;
    }
    changed = diff / n;
  }
  const v = view();
  return { width: v instanceof HTMLVideoElement ? v.videoWidth : v.width, variance: variance(a), changed };
}
