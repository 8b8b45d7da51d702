import { describe, expect, it } from 'vitest';
import { EMOJI_CATEGORIES } from './emoji';

describe('the emoji of the picker', () => {
  const all = EMOJI_CATEGORIES.flatMap((c) => c.emoji);
  it('are a curated list of common ones, each once, each with a name to speak', () => {
    expect(all.length).toBeGreaterThanOrEqual(120);
    expect(all.length).toBeLessThanOrEqual(220);
    expect(new Set(all.map((e) => e.char)).size).toBe(all.length);
    for (const e of all) {
      expect(e.name, e.char).toMatch(/^\S.*\S$/);
      // One emoji each (maybe with its presentation selector): no text, no spaces.
      expect(e.char, e.name).toMatch(/^\p{Extended_Pictographic}\uFE0F?$/u);
    }
  });
  it('are grouped in labelled categories', () => {
    expect(EMOJI_CATEGORIES.map((c) => c.label).every((l) => l !== '')).toBe(true);
    expect(new Set(EMOJI_CATEGORIES.map((c) => c.id)).size).toBe(EMOJI_CATEGORIES.length);
  });
});
