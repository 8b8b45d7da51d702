/**
 * The audio context of a bridged call, shared by its microphone's sender and the other side's
 * player: at 48 kHz where the webview allows (Opus's own rate: nothing to resample), with both
 * worklets loaded once. Their modules are separate files of the app (Vite's `?worker&url`),
 * since the app's CSP (`script-src 'self'`) lets no Blob or data URL run.
 */
import captureUrl from './capture-worklet?worker&url';
import playbackUrl from './playback-worklet?worker&url';

export type CallAudio = {
  context: AudioContext;
  /** Resolves once the worklets can be made; rejects when the webview could not load them. */
  ready: Promise<void>;
  /**
   * A node that plays nothing yet keeps its inputs pulled: a worklet whose sound goes nowhere
   * else (the microphone's) is still run.
   */
  sink: AudioNode;
  /**
   * Rests (true) while the page neither captures nor plays the call's sound (the app does
   * both): a running context wakes its worklets and WebKitGTK's output every 2.7 ms for nothing.
   */
  rest(resting: boolean): void;
  close(): void;
};

function newContext(): AudioContext {
  try {
    return new AudioContext({ sampleRate: 48_000, latencyHint: 'interactive' });
  } catch {
    return new AudioContext({ latencyHint: 'interactive' });
  }
}

export function openCallAudio(): CallAudio {
  const context = newContext();
  const sink = context.createGain();
  sink.gain.value = 0;
  sink.connect(context.destination);
  const ready = Promise.all([context.audioWorklet.addModule(captureUrl), context.audioWorklet.addModule(playbackUrl)]).then(() => undefined);
  // Started without a click (the call was answered a moment ago): resume in case the webview waited for one.
  void context.resume().catch(() => undefined);
  return {
    context,
    ready,
    sink,
    rest: (resting) => void (resting ? context.suspend() : context.resume()).catch(() => undefined),
    close: () => void context.close().catch(() => undefined),
  };
}
