import { describe, expect, it } from 'vitest';
import { anchorAt, buildOffsets, centreOn, isAtBottom, restoreAnchor, rowAt, visibleRange } from './virtual-window';

const keys = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${i + from}`);

describe('offsets', () => {
  it('uses measured heights and the estimate for the rest', () => {
    const heights = new Map([['k1', 100]]);
    expect(buildOffsets(keys(3), heights, 40)).toEqual([0, 40, 140, 180]);
    expect(buildOffsets([], heights, 40)).toEqual([0]);
  });
  it('finds the row at a position', () => {
    const offsets = [0, 40, 140, 180];
    expect(rowAt(offsets, 0)).toBe(0);
    expect(rowAt(offsets, 39)).toBe(0);
    expect(rowAt(offsets, 40)).toBe(1);
    expect(rowAt(offsets, 179)).toBe(2);
    expect(rowAt(offsets, 10_000)).toBe(2);
    expect(rowAt(offsets, -5)).toBe(0);
  });
});

describe('visible range', () => {
  const offsets = buildOffsets(keys(5000), new Map(), 50);
  it('renders the viewport plus overscan, bounded however long the list', () => {
    expect(visibleRange(offsets, 0, 500, 0)).toEqual({ start: 0, end: 11 });
    const r = visibleRange(offsets, 100_000, 500, 200);
    expect(r.start).toBe((100_000 - 200) / 50);
    expect(r.end - r.start).toBeLessThanOrEqual(900 / 50 + 2);
  });
  it('clamps at the end and handles empty lists', () => {
    expect(visibleRange(offsets, 250_000 - 500, 500, 200).end).toBe(5000);
    expect(visibleRange([0], 0, 500, 200)).toEqual({ start: 0, end: 0 });
  });
});

describe('anchors', () => {
  it('keeps the same row at the same place when older rows are prepended', () => {
    const before = keys(100, 100);
    const o1 = buildOffsets(before, new Map(), 50);
    const anchor = anchorAt(o1, before, 1025);
    expect(anchor).toEqual({ key: 'k120', delta: 25 });
    const after = [...keys(100, 0), ...before];
    const heights = new Map(keys(100, 0).map((k) => [k, 30]));
    const o2 = buildOffsets(after, heights, 50);
    expect(restoreAnchor(o2, after, anchor!)).toBe(100 * 30 + 20 * 50 + 25);
  });
  it('keeps the place when a row above is measured taller than estimated', () => {
    const k = keys(10);
    const anchor = anchorAt(buildOffsets(k, new Map(), 50), k, 260)!;
    const o2 = buildOffsets(k, new Map([['k2', 150]]), 50);
    expect(restoreAnchor(o2, k, anchor)).toBe(360);
  });
  it('returns null when the anchor row is gone', () => {
    expect(restoreAnchor([0, 10], ['x'], { key: 'y', delta: 0 })).toBeNull();
    expect(anchorAt([0], [], 0)).toBeNull();
  });
});

describe('centre and bottom', () => {
  it('centres a row, clamped to the scroll range', () => {
    const offsets = buildOffsets(keys(100), new Map(), 50);
    expect(centreOn(offsets, 50, 500)).toBe(2500 - 225);
    expect(centreOn(offsets, 0, 500)).toBe(0);
    expect(centreOn(offsets, 99, 500)).toBe(4500);
  });
  it('knows when the list is scrolled to the bottom', () => {
    expect(isAtBottom(500, 500, 1000)).toBe(true);
    expect(isAtBottom(480, 500, 1000)).toBe(true);
    expect(isAtBottom(400, 500, 1000)).toBe(false);
  });
});
