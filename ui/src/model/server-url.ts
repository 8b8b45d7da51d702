/**
 * Parsing of the signaling server address a user types in ("chat.example.org",
 * "localhost:8080", "https://example.org/parley/", a pasted "wss://..." URL), or an invite
 * (`parley://join?server=…&fp=…`, kept whole: the core reads it and pins the certificate it
 * names); and the TCP port such an address is reached on.
 */

/** How every invite starts (the core's `INVITE_PREFIX`). */
export const INVITE_PREFIX = 'parley://join?';

/** Whether `input` is meant as an invite rather than an address (the core's `Invite::looks_like`). */
export function isInvite(input: string): boolean {
  return input.trim().toLowerCase().startsWith(INVITE_PREFIX);
}

/** The server an invite names (its `server=`, decoded), or null when it names none readable. */
export function inviteServer(input: string): string | null {
  if (!isInvite(input)) return null;
  for (const pair of input.trim().slice(INVITE_PREFIX.length).split('&')) {
    const [key, value = ''] = pair.split('=', 2) as [string, string?];
    if (key !== 'server') continue;
    try {
      const server = decodeURIComponent(value).trim();
      return server === '' ? null : server;
    } catch {
      return null;
    }
  }
  return null;
}

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
  if (text === '') return { ok: false, error: 'Enter the address of a signaling server, or an invite.' };
  // Checked by the core (`invalid_invite` says what is wrong with it).
  if (isInvite(text)) return { ok: true, url: text };
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

/**
 * Where a server is reached from here: its host and TCP port (443 for https, 80 for http unless
 * the address says), for an address or an invite (its server). Null when it can't be read.
 */
export function serverEndpoint(address: string): { host: string; port: number; loopback: boolean } | null {
  const target = isInvite(address) ? inviteServer(address) : address;
  if (target === null) return null;
  const r = normalizeServerUrl(target);
  if (!r.ok) return null;
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    return null;
  }
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  return { host: url.host, port, loopback: isLoopbackHost(url.hostname) };
}

/**
 * The line an unreachable server on another computer gets: the port its firewall must let in.
 * Null for a loopback address (nothing in between) or one that can't be read.
 */
export function firewallHint(address: string): string | null {
  const at = serverEndpoint(address);
  if (at === null || at.loopback) return null;
  return `If the server is on another computer, its firewall must let in TCP port ${at.port}.`;
}
