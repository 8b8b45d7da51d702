import { describe, expect, it } from 'vitest';
import { charCount, LIMITS, overLimit } from './limits';

describe('lengths are counted as the core counts them', () => {
  it('counts an emoji or any astral character as one', () => {
    expect(charCount('abc')).toBe(3);
    expect(charCount('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
    expect(charCount('é€')).toBe(2);
  });

  it('accepts an emoji-heavy message the core accepts, and refuses one over the limit', () => {
    const full = '😀'.repeat(LIMITS.message);
    expect(full.length).toBe(2 * LIMITS.message);
    expect(overLimit('A message', full, LIMITS.message)).toBeNull();
    expect(overLimit('A message', `${full}x`, LIMITS.message)).toBe('A message can have at most 12,000 characters.');
  });
});
