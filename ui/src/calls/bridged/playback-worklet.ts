/**
 * The other side's sound to the speaker, in the audio thread: decoded packets come from the
 * page, and the jitter buffer hands out a steady 128 samples per render quantum. Driven by the
 * audio clock (a hidden window slows DOM timers down, not this). Loaded like the capture worklet.
 */
import { JitterBuffer } from './jitter-buffer';
import { PLAYBACK_PROCESSOR, type WorkletScope } from './worklet-scope';

const scope = globalThis as unknown as WorkletScope;

class Playback extends scope.AudioWorkletProcessor {
  private readonly buffer = new JitterBuffer({ rate: scope.sampleRate });

  constructor() {
    super();
    this.port.onmessage = ({ data }: MessageEvent) => {
      const d = data as { timeUs?: unknown; pcm?: unknown } | null;
      if (d !== null && typeof d === 'object' && typeof d.timeUs === 'number' && d.pcm instanceof Float32Array) this.buffer.push(d.timeUs, d.pcm);
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const channels = outputs[0] ?? [];
    const first = channels[0];
    if (first === undefined) return true;
    this.buffer.pull(first);
    for (const other of channels.slice(1)) other.set(first);
    return true;
  }
}

scope.registerProcessor(PLAYBACK_PROCESSOR, Playback);
