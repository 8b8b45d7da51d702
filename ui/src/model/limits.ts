/**
 * The one rule for the length of what people type: characters as the core counts them (Unicode
 * scalar values, Rust's `chars()`: an emoji is one), against the bounds generated from the Rust
 * side into `types.ts`. Never `text.length` (UTF-16 units) and never a `maxlength` attribute for
 * these fields: both count an emoji as two, and would refuse what the core accepts.
 */
import { LIMITS } from '../types';

export { LIMITS };

/** How many characters the core will count in `text`. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** The sentence for a field over its limit, or null when it fits. */
export function overLimit(what: string, text: string, limit: number): string | null {
  return charCount(text) > limit ? `${what} can have at most ${limit.toLocaleString('en')} characters.` : null;
}
