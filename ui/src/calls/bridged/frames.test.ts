import { describe, expect, it } from 'vitest';
import { bitrateChanged, fitWithin, isVp8KeyFrame, MAX_VIDEO_BPS, MIN_VIDEO_BPS, videoBitrate } from './frames';

describe('isVp8KeyFrame', () => {
  const key = Uint8Array.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00]);
  it('reads the frame tag and the start code', () => {
    expect(isVp8KeyFrame(key)).toBe(true);
    const delta = key.slice();
    delta[0] = 0x51;
    expect(isVp8KeyFrame(delta)).toBe(false);
  });
  it('a frame too short, or without the start code, is no key frame', () => {
    expect(isVp8KeyFrame(key.subarray(0, 9))).toBe(false);
    const noCode = key.slice();
    noCode[4] = 0;
    expect(isVp8KeyFrame(noCode)).toBe(false);
    expect(isVp8KeyFrame(new Uint8Array(0))).toBe(false);
  });
});

describe('fitWithin', () => {
  it('scales a larger picture down keeping its shape, in even numbers', () => {
    expect(fitWithin(1280, 720, 640, 480)).toEqual({ width: 640, height: 360 });
    expect(fitWithin(720, 1280, 640, 480)).toEqual({ width: 270, height: 480 });
    expect(fitWithin(1920, 1440, 640, 480)).toEqual({ width: 640, height: 480 });
  });
  it('never scales up; nothing to show is 0×0', () => {
    expect(fitWithin(320, 240, 640, 480)).toEqual({ width: 320, height: 240 });
    expect(fitWithin(321, 241, 640, 480)).toEqual({ width: 322, height: 242 });
    expect(fitWithin(0, 480, 640, 480)).toEqual({ width: 0, height: 0 });
  });
});

describe('videoBitrate', () => {
  it('follows the suggestion within bounds, and keeps the current one without', () => {
    expect(videoBitrate(1_000_000, 600_000)).toBe(600_000);
    expect(videoBitrate(1_000_000, 10)).toBe(MIN_VIDEO_BPS);
    expect(videoBitrate(1_000_000, 1e9)).toBe(MAX_VIDEO_BPS);
    expect(videoBitrate(1_000_000, null)).toBe(1_000_000);
    expect(videoBitrate(1_000_000, Number.NaN)).toBe(1_000_000);
    expect(videoBitrate(1_000_000, 0)).toBe(1_000_000);
  });
  it('a change is worth it beyond 15%', () => {
    expect(bitrateChanged(1_000_000, 900_000)).toBe(false);
    expect(bitrateChanged(1_000_000, 800_000)).toBe(true);
  });
});
