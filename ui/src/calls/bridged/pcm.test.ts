import { describe, expect, it } from 'vitest';
import { downmixInterleaved, resample, s16ToFloat } from './pcm';

describe('pcm', () => {
  it('mixes interleaved channels down to one', () => {
    expect([...downmixInterleaved(Float32Array.from([1, 0, 0.5, 0.5, -1, 1]), 2)]).toEqual([0.5, 0.5, 0]);
    const mono = Float32Array.from([0.25]);
    expect(downmixInterleaved(mono, 1)).toBe(mono);
  });
  it('turns 16-bit samples into floats', () => {
    expect([...s16ToFloat(Int16Array.from([0, 16384, -32768]))]).toEqual([0, 0.5, -1]);
  });
  it('resamples linearly, keeping the duration', () => {
    const ramp = Float32Array.from({ length: 480 }, (_, i) => i / 480);
    const up = resample(ramp, 44_100, 48_000);
    expect(up.length).toBe(522);
    expect(up[0]).toBe(0);
    expect(up[261]).toBeCloseTo(ramp[240] as number, 2);
    expect(resample(ramp, 48_000, 48_000)).toBe(ramp);
    expect(resample(ramp, 48_000, 24_000).length).toBe(240);
  });
});
