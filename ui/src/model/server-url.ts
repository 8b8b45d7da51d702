/**
 * Parsing of the signaling server address a user types in ("chat.example.org",
 * "localhost:8080", "https://example.org/parley/", a pasted "wss://..." URL).
 */

export type ServerUrlResult = { ok: true; url: string } | { ok: false; error: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Loopback hosts, where plain http is the sensible default (a server run for development). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Turns user input into the canonical base URL of a signaling server: `http:` or `https:`,
 * lower-case host, no default port, no trailing slash, no query, fragment or credentials.
 *
 * Without a scheme, https is assumed, except for loopback hosts (http). WebSocket URLs are
 * accepted and mapped to their HTTP equivalents (`ws:` to `http:`, `wss:` to `https:`).
 */
export function normalizeServerUrl(input: string): ServerUrlResult {
  const text = input.trim();
  if (text === '') return { ok: false, error: 'Enter the address of a signaling server.' };
  if (/\s/.test(text)) return { ok: false, error: 'The address must not contain spaces.' };

  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  let candidate: string;
  if (scheme === undefined) {
    candidate = `https://${text}`;
  } else if (scheme === 'http' || scheme === 'https') {
    candidate = text;
  } else if (scheme === 'ws' || scheme === 'wss') {
    candidate = (scheme === 'ws' ? 'http' : 'https') + text.slice(scheme.length);
  } else {
    return { ok: false, error: `Unsupported scheme "${scheme}:"; use http or https.` };
  }

  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return { ok: false, error: 'This is not a valid server address.' };
  }
  if (url.hostname === '') return { ok: false, error: 'The address has no host name.' };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, error: 'The address must not contain a user name or password.' };
  }
  if (url.search !== '' || url.hash !== '') {
    return { ok: false, error: 'The address must not contain "?" or "#" parts.' };
  }
  if (scheme === undefined && isLoopbackHost(url.hostname)) {
    url = new URL(`http://${url.host}${url.pathname}`);
  }

  const path = url.pathname.replace(/\/+$/, '');
  return { ok: true, url: url.origin + path };
}
