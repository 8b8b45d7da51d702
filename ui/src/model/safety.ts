/**
 * Safety numbers as the window shows them: a contact's trust as a whole from the numbers of
 * their devices, the words for it, the digits in groups and the QR code as an image URL. Pure.
 */
import type { SafetyNumber } from '../types';

/**
 * - `unknown`: not loaded (yet), or the loading failed.
 * - `unmet`: no device of theirs has connected directly yet: nothing to compare.
 * - `unverified`: at least one device is not verified (and none changed).
 * - `verified`: every device met is verified.
 * - `changed`: a device of this verified contact proved a new key; sending waits for accepting it.
 */
export type Trust = 'unknown' | 'unmet' | 'unverified' | 'verified' | 'changed';

/** The contact's trust from their devices' numbers (null: not loaded). */
export function trustOf(numbers: readonly SafetyNumber[] | null): Trust {
  if (numbers === null) return 'unknown';
  if (numbers.length === 0) return 'unmet';
  if (numbers.some((n) => n.changed)) return 'changed';
  return numbers.every((n) => n.verified) ? 'verified' : 'unverified';
}

/** The conversation header's button. */
export function verifyLabel(trust: Trust): string {
  switch (trust) {
    case 'verified':
      return 'Verified \u2713';
    case 'changed':
      return 'Key changed';
    default:
      return 'Verify';
  }
}

/** "Mark as verified" is offered: some device is not verified yet, and no change is pending. */
export const canVerify = (trust: Trust): boolean => trust === 'unverified';

/** "Accept the new key" is offered: a verified device proved a new key. */
export const canAccept = (trust: Trust): boolean => trust === 'changed';

/** One device's state, in words. */
export function deviceState(n: SafetyNumber): string {
  if (n.changed) return 'Key changed: compare this new number';
  return n.verified ? 'Verified' : 'Not verified';
}

/**
 * The digits in their groups of five (what may wrap between). The core sends them grouped
 * already; digits without spaces are grouped here.
 */
export function numberGroups(number: string): string[] {
  const digits = number.trim().split(/\s+/).filter((g) => g !== '');
  if (digits.length !== 1) return digits;
  const all = digits[0] as string;
  return all.match(/.{1,5}/g) ?? [];
}

/**
 * The QR code's SVG as a `data:` URL for an `<img>`: shown as an image, so the markup is never
 * parsed into the page. Null when there is none (the core could not draw it).
 */
export function svgDataUrl(svg: string): string | null {
  if (svg.trim() === '') return null;
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
