/**
 * The arithmetic of the virtual message list. Rows have variable heights; the measured ones are
 * cached by key, the others use an estimate. Pure, so it is tested without a DOM.
 */

/** offsets[i] is the top of row i; offsets[n] is the total height. */
export function buildOffsets(keys: readonly string[], heights: ReadonlyMap<string, number>, estimate: number): number[] {
  const offsets = new Array<number>(keys.length + 1);
  let y = 0;
  offsets[0] = 0;
  for (let i = 0; i < keys.length; i++) {
    y += heights.get(keys[i] as string) ?? estimate;
    offsets[i + 1] = y;
  }
  return offsets;
}

/** The index of the row that contains `y` (clamped to the rows). */
export function rowAt(offsets: readonly number[], y: number): number {
  const n = offsets.length - 1;
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((offsets[mid] as number) <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export type Range = { start: number; end: number }; // [start, end)

/** The rows to render for a viewport, with `overscan` pixels above and below. */
export function visibleRange(offsets: readonly number[], scrollTop: number, viewport: number, overscan: number): Range {
  const n = offsets.length - 1;
  if (n <= 0) return { start: 0, end: 0 };
  const start = rowAt(offsets, Math.max(0, scrollTop - overscan));
  const last = rowAt(offsets, scrollTop + viewport + overscan);
  return { start, end: Math.min(n, last + 1) };
}

/** Which row is at the top of the viewport, and how far into it we are scrolled. */
export type Anchor = { key: string; delta: number };

export function anchorAt(offsets: readonly number[], keys: readonly string[], scrollTop: number): Anchor | null {
  if (keys.length === 0) return null;
  const i = rowAt(offsets, scrollTop);
  return { key: keys[i] as string, delta: scrollTop - (offsets[i] as number) };
}

/** The scrollTop that puts the anchor row back where it was, or null when it is gone. */
export function restoreAnchor(offsets: readonly number[], keys: readonly string[], anchor: Anchor): number | null {
  const i = keys.indexOf(anchor.key);
  if (i < 0) return null;
  return Math.max(0, (offsets[i] as number) + anchor.delta);
}

/** The scrollTop that centres row `index` in the viewport. */
export function centreOn(offsets: readonly number[], index: number, viewport: number): number {
  const top = offsets[index] ?? 0;
  const bottom = offsets[index + 1] ?? top;
  const total = offsets[offsets.length - 1] ?? 0;
  const y = top - (viewport - (bottom - top)) / 2;
  return Math.max(0, Math.min(y, Math.max(0, total - viewport)));
}

export function isAtBottom(scrollTop: number, clientHeight: number, scrollHeight: number, tolerance = 24): boolean {
  return scrollHeight - (scrollTop + clientHeight) <= tolerance;
}
