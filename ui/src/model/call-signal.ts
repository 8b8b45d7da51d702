/**
 * The media signals of a call (`CallSignal`) at the page's edges: what arrives in a `call-signal`
 * event is checked before the call's connection sees it (a peer chose its content, and a malformed
 * one must not break the page), our ICE candidates become signals, and the other side's candidates
 * wait until their description is set. Pure.
 */
import type { CallIceServer, CallSignal } from '../types';

/** The core's bounds (docs/call-protocol.md): what goes beyond them is no signal of ours either. */
export const MAX_SDP_BYTES = 32 * 1024;
export const MAX_CANDIDATE_BYTES = 1024;
const MAX_MID_BYTES = 64;

const bytes = (s: string) => new TextEncoder().encode(s).length;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown): v is string | null => v === null || typeof v === 'string';

function iceServer(v: unknown): CallIceServer | null {
  if (!isObject(v) || !Array.isArray(v.urls) || !v.urls.every((u) => typeof u === 'string')) return null;
  const username = v.username ?? null;
  const credential = v.credential ?? null;
  if (!optString(username) || !optString(credential)) return null;
  return { urls: [...v.urls], username, credential };
}

/** A `call-signal` event's signal, checked; null when it is not one (it is then ignored). */
export function parseCallSignal(raw: unknown): CallSignal | null {
  if (!isObject(raw)) return null;
  switch (raw.kind) {
    case 'start': {
      if (typeof raw.offerer !== 'boolean' || !Array.isArray(raw.ice_servers)) return null;
      const servers = raw.ice_servers.map(iceServer);
      if (servers.some((s) => s === null)) return null;
      return { kind: 'start', offerer: raw.offerer, ice_servers: servers as CallIceServer[] };
    }
    case 'sdp': {
      if ((raw.sdp_kind !== 'offer' && raw.sdp_kind !== 'answer') || typeof raw.sdp !== 'string') return null;
      if (!raw.sdp.startsWith('v=0') || bytes(raw.sdp) > MAX_SDP_BYTES) return null;
      return { kind: 'sdp', sdp_kind: raw.sdp_kind, sdp: raw.sdp };
    }
    case 'ice': {
      const mid = raw.mid ?? null;
      const mline = raw.mline ?? null;
      if (typeof raw.candidate !== 'string' || bytes(raw.candidate) > MAX_CANDIDATE_BYTES || /[\r\n]/.test(raw.candidate)) return null;
      if (!optString(mid) || (mid !== null && bytes(mid) > MAX_MID_BYTES)) return null;
      if (mline !== null && !(Number.isInteger(mline) && (mline as number) >= 0 && (mline as number) <= 65535)) return null;
      return { kind: 'ice', candidate: raw.candidate, mid, mline: mline as number | null };
    }
    default:
      return null;
  }
}

/** STUN/TURN servers for `RTCPeerConnection` (`username`/`credential` only where there are). */
export function iceServersConfig(servers: readonly CallIceServer[]): { urls: string[]; username?: string; credential?: string }[] {
  return servers
    .filter((s) => s.urls.length > 0)
    .map((s) => ({ urls: [...s.urls], ...(s.username === null ? {} : { username: s.username }), ...(s.credential === null ? {} : { credential: s.credential }) }));
}

/** What `icecandidate` hands over: a candidate, or null once gathering is complete. */
export type LocalCandidate = { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null;

/**
 * Our candidates as signals: each one as it comes, and one empty candidate (the end of them),
 * once. Null: nothing to send (an empty candidate the webview gives per section, a second end,
 * one out of the core's bounds).
 */
export class CandidateSignals {
  private ended = false;

  next(c: LocalCandidate): Extract<CallSignal, { kind: 'ice' }> | null {
    if (this.ended) return null;
    if (c === null) {
      this.ended = true;
      return { kind: 'ice', candidate: '', mid: null, mline: null };
    }
    if (c.candidate === '' || bytes(c.candidate) > MAX_CANDIDATE_BYTES) return null;
    return { kind: 'ice', candidate: c.candidate, mid: c.sdpMid, mline: c.sdpMLineIndex };
  }
}

/**
 * The other side's candidates until their description is set (a candidate can't be added
 * before): `add` says whether to apply one now; `open` lets the held ones through, in order.
 */
export class CandidateQueue<T> {
  private held: T[] = [];
  private isOpen = false;

  /** True: apply it now. False: it is kept for `open`. */
  add(candidate: T): boolean {
    if (this.isOpen) return true;
    this.held.push(candidate);
    return false;
  }

  /** The remote description is set: the candidates held so far, oldest first; the next apply at once. */
  open(): T[] {
    this.isOpen = true;
    const held = this.held;
    this.held = [];
    return held;
  }

  get waiting(): number {
    return this.held.length;
  }
}
