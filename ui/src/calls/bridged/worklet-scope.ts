/**
 * What an AudioWorklet's global scope has (TypeScript's DOM library does not describe it), for
 * the two processors of a bridged call. Types only.
 */
export interface WorkletScope {
  readonly sampleRate: number;
  readonly currentFrame: number;
  registerProcessor(name: string, processor: new (options?: unknown) => object): void;
  AudioWorkletProcessor: new () => { readonly port: MessagePort };
}

/** Chunks the capture worklet posts: `frame`, the context's frame count at its first sample. */
export type CaptureChunk = { frame: number; rate: number; pcm: Float32Array<ArrayBuffer> };

/** What the playback worklet takes: one packet of sound at the context's rate, timed by the sender's media clock. */
export type PlaybackChunk = { timeUs: number; pcm: Float32Array };

export const CAPTURE_PROCESSOR = 'parley-capture';
export const PLAYBACK_PROCESSOR = 'parley-playback';
