/**
 * A server's connection in words: which question a refused sign-in asks (trust a certificate,
 * refuse a changed one, agree to plain http), certificate fingerprints in groups as people
 * compare them, and what "Let others join" tells the people who join. Pure.
 */

/** The sign-in errors that get a panel of their own instead of a line of text. */
export type TrustQuestion = 'untrusted_certificate' | 'certificate_changed' | 'plain_http';

/** The panel a sign-in or sign-up error asks for, or null for a plain error line. */
export function trustQuestion(code: string): TrustQuestion | null {
  return code === 'untrusted_certificate' || code === 'certificate_changed' || code === 'plain_http' ? code : null;
}

/**
 * A fingerprint as groups of four hex digits, upper case (`3F2A`, `91BC`, …), from any form the
 * core prints (`sha256:3F2A 91BC …`, `3F2A 91BC …`, `3f:2a:91:bc…`). Something that is not hex
 * is kept as one group, as it came.
 */
export function fingerprintGroups(fingerprint: string): string[] {
  const body = fingerprint.trim().replace(/^sha-?256[:= ]\s*/i, '');
  const hex = body.replace(/[\s:-]/g, '');
  if (hex === '' || !/^[0-9a-f]+$/i.test(hex)) return body === '' ? [] : [body];
  const upper = hex.toUpperCase();
  const groups: string[] = [];
  for (let i = 0; i < upper.length; i += 4) groups.push(upper.slice(i, i + 4));
  return groups;
}

/**
 * The core's message as a sentence: capitalised, with a full stop, unless it starts with an
 * address (`https://…`), which is left as it is.
 */
export function messageSentence(text: string): string {
  const t = text.trim();
  if (t === '') return '';
  const first = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** An address in pieces, a line break allowed after each ":" (a long IPv6 address). */
export function addressPieces(address: string): string[] {
  return address.split(/(?<=:)/);
}

/** The line under "Let others join": the port to let in. */
export function sharingPortText(port: number): string {
  return `Others join on port ${port} (TCP); allow it in this computer\u2019s firewall if asked.`;
}
