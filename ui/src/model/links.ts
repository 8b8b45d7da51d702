/**
 * Links in message text: which parts of a text are http(s) or mailto links, and whether a URL may
 * be handed to the system browser. Peer text is hostile: only these three schemes are ever
 * links (no javascript:, file:, data: or the app's own scheme), and the view builds the links
 * with DOM APIs, never from markup. Pure.
 */

/** A run of text, and the URL to open when it is a link. */
export type TextPiece = { text: string; url: string | null };

const SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** Candidates: a scheme we open, then everything up to white space or a character URLs don't have. */
const CANDIDATE = /\b(?:https?:\/\/|mailto:)[^\s<>"`{}|\\^\u0000-\u001f\u007f]+/giu;

/** Punctuation that ends a sentence rather than the URL ("see https://example.org."). */
const TRAILING = /[.,;:!?'\u2019\u201d*_~]+$/u;

/** The URL to hand to the system browser, or null when it is not one Parley opens. */
export function openableUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!SCHEMES.has(url.protocol)) return null;
  if (url.protocol === 'mailto:') return url.pathname !== '' ? url.href : null;
  return url.hostname !== '' ? url.href : null;
}

/** Drops what a sentence put after the URL: final punctuation, and closing brackets it did not open. */
function trimEnd(candidate: string): string {
  let s = candidate;
  for (;;) {
    const before = s;
    s = s.replace(TRAILING, '');
    for (const [open, close] of [['(', ')'], ['[', ']']] as const) {
      while (s.endsWith(close) && count(s, close) > count(s, open)) s = s.slice(0, -1);
    }
    if (s === before) return s;
  }
}

function count(s: string, c: string): number {
  let n = 0;
  for (const x of s) if (x === c) n++;
  return n;
}

/** `text` cut into plain runs and links (in order; joined, they give `text` back). */
export function linkify(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let at = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    const start = m.index;
    const raw = trimEnd(m[0]);
    const url = openableUrl(raw);
    if (url === null) continue;
    if (start > at) pieces.push({ text: text.slice(at, start), url: null });
    pieces.push({ text: raw, url });
    at = start + raw.length;
  }
  if (at < text.length || pieces.length === 0) pieces.push({ text: text.slice(at), url: null });
  return pieces;
}
