/**
 * Decoded sound into what the playback worklet takes: one channel of 32-bit floats at the audio
 * context's rate. Pure (the caller copies the samples out of `AudioData`).
 */

/** The mean of the channels of interleaved samples (`channels` per frame). */
export function downmixInterleaved(samples: Float32Array, channels: number): Float32Array {
  if (channels <= 1) return samples;
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c] as number;
    out[f] = sum / channels;
  }
  return out;
}

/** 16-bit integer samples as floats in [-1, 1). */
export function s16ToFloat(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] as number) / 32768;
  return out;
}

/** `samples` at `from` Hz, resampled to `to` Hz (linear: speech, not music). */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to || samples.length === 0 || !(from > 0 && to > 0)) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Float32Array(length);
  const step = from / to;
  for (let i = 0; i < length; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const a = samples[Math.min(j, samples.length - 1)] as number;
    const b = samples[Math.min(j + 1, samples.length - 1)] as number;
    out[i] = a + (b - a) * (x - j);
  }
  return out;
}
