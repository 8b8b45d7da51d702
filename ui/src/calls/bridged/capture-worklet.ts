/**
 * The microphone's sound for the encoder, in the audio thread: the samples of each render
 * quantum are gathered into 20 ms chunks and posted to the page. Driven by the audio clock, so it
 * keeps time when the window is hidden (DOM timers are slowed down there, this is not).
 * Loaded with `audioWorklet.addModule` (its URL from Vite: the app's CSP allows scripts from the
 * app itself only, so no Blob URL).
 */
import { CAPTURE_PROCESSOR, type CaptureChunk, type WorkletScope } from './worklet-scope';

const scope = globalThis as unknown as WorkletScope;
const CHUNK = Math.round(scope.sampleRate / 50);

class Capture extends scope.AudioWorkletProcessor {
  private chunk = new Float32Array(CHUNK);
  private filled = 0;
  private firstFrame = 0;

  process(inputs: Float32Array[][]): boolean {
    // Mono: the node mixes its input down to one channel. No input (a track being swapped): nothing.
    const samples = inputs[0]?.[0];
    if (samples === undefined) return true;
    let at = 0;
    while (at < samples.length) {
      if (this.filled === 0) this.firstFrame = scope.currentFrame + at;
      const take = Math.min(samples.length - at, CHUNK - this.filled);
      this.chunk.set(samples.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === CHUNK) {
        const message: CaptureChunk = { frame: this.firstFrame, rate: scope.sampleRate, pcm: this.chunk };
        this.port.postMessage(message, [this.chunk.buffer]);
        this.chunk = new Float32Array(CHUNK);
        this.filled = 0;
      }
    }
    return true;
  }
}

scope.registerProcessor(CAPTURE_PROCESSOR, Capture);
