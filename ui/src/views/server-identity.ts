/**
 * A server's identity as Parley shows it everywhere (the sign-in's questions, the servers found
 * on the network, Settings → Let others join): its certificate fingerprint, a `code.fingerprint`
 * of groups of four (`fingerprintGroups` in model/server-trust.ts) that never break inside, four
 * to a line (style.css), selectable as a whole; and its address, which may break after a ":".
 */
import { el } from './dom';
import { addressPieces, fingerprintGroups } from '../model/server-trust';

/**
 * Puts `fingerprint` (any form the core prints) into `code` in groups; a space between them, so
 * copying the selection gives the fingerprint as the server shows it. Answers how many groups.
 */
export function setFingerprint(code: HTMLElement, fingerprint: string | undefined): number {
  const groups = fingerprint === undefined ? [] : fingerprintGroups(fingerprint);
  code.replaceChildren(...groups.flatMap((g, i) => (i === 0 ? [el('span', { class: 'group' }, g)] : [' ', el('span', { class: 'group' }, g)])));
  return groups.length;
}

/** A new `code.fingerprint` showing `fingerprint`. */
export function fingerprintElement(fingerprint: string, attrs: Record<string, string> = {}): HTMLElement {
  const code = el('code', { ...attrs, class: 'fingerprint' });
  setFingerprint(code, fingerprint);
  return code;
}

/** An address as text with a break allowed after each ":" (a long IPv6 address): text nodes and `<wbr>`, never markup from a string. */
export function addressNodes(address: string): (Node | string)[] {
  return addressPieces(address).flatMap((p, i) => (i === 0 ? [p] : [el('wbr'), p]));
}
