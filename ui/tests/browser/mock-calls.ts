/**
 * The mock core's calls (docs/call-protocol.md), for the browser tests: a small call book that
 * speaks the protocol's frames to the mock core of another page and emits `call` and
 * `call-signal` events as the real core does (`src-tauri/core/src/calls/`), in its order
 * (`call-signal start` before the `call` that says "connecting").
 *
 * Two pages of one browser context (one per person, `?as=bob` on the other) relay frames through
 * a BroadcastChannel named by `?relay=<name>`: each frame is `{from, to, frame}` with the frame as
 * the peers' chat channel would carry it (`{t: 'call-invite', call, video, v}`, …). With a relay
 * the other person counts as online (their device has a channel). Frames are checked as the core
 * does (known `t`, the call's id 32 lowercase hex, no unknown field, bounds); one that fails, that
 * is about no call here, or that does not fit the call's state is dropped.
 *
 * Timers (ms): `?ring=` (nobody answers: 60 000), `?reach=` (no device rings: 20 000),
 * `?connect=` (answered, media does not connect: 30 000). `?calls=unsupported`: this device can't
 * take calls (answers `unsupported`, keeps a missed call).
 *
 * `window.__parleyMock`: `callNow()` (the call as the core has it), `setCallsSupported(on)`, `holdCallFrames(on)` (frames wait until released: calls that cross), `receiveCallFrame(from,
 * frame)` (a frame arrives as if from `from`'s device: any JSON, checked like the others),
 * `sendRawCallFrame(to, frame)` (puts anything on the relay), `failCall(reason)` (the core ends
 * the call as failed, e.g. a lost connection; the other side is told `call-hangup`).
 *
 * Calls in a webview without WebRTC: the `media_*` commands of the media bridge, relayed between
 * the two pages through the same channel (mock-media.ts).
 */
import type { CallEnd, CallOutcome, CallSignal, CallView, CoreEvent } from '../../src/types';
import { createMediaMock } from './mock-media';

type Frame =
  | { t: 'call-invite'; call: string; video: boolean; v: number }
  | { t: 'call-ringing'; call: string }
  | { t: 'call-accept'; call: string }
  | { t: 'call-decline'; call: string; reason: 'declined' | 'busy' | 'unsupported' }
  | { t: 'call-cancel'; call: string; reason: 'cancelled' | 'no-answer' | 'answered-elsewhere' | 'declined-elsewhere' }
  | { t: 'call-hangup'; call: string }
  | { t: 'call-sdp'; call: string; kind: 'offer' | 'answer'; sdp: string }
  | { t: 'call-ice'; call: string; candidate: string; mid: string | null; mline: number | null }
  | { t: 'call-media'; call: string; audio: boolean; video: boolean };

/** Each frame's fields besides `t` and `call`, and whether a value fits. */
const FIELDS: Record<Frame['t'], Record<string, (v: unknown) => boolean>> = {
  'call-invite': { video: (v) => typeof v === 'boolean', v: (v) => v === 1 },
  'call-ringing': {},
  'call-accept': {},
  'call-decline': { reason: (v) => v === 'declined' || v === 'busy' || v === 'unsupported' },
  'call-cancel': { reason: (v) => v === 'cancelled' || v === 'no-answer' || v === 'answered-elsewhere' || v === 'declined-elsewhere' },
  'call-hangup': {},
  'call-sdp': { kind: (v) => v === 'offer' || v === 'answer', sdp: (v) => typeof v === 'string' && v.length > 0 && v.length <= 32 * 1024 && v.startsWith('v=0') },
  'call-ice': {
    candidate: (v) => typeof v === 'string' && v.length <= 1024 && !/[\r\n]/.test(v),
    mid: (v) => v === null || (typeof v === 'string' && v.length <= 64),
    mline: (v) => v === null || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535),
  },
  'call-media': { audio: (v) => typeof v === 'boolean', video: (v) => typeof v === 'boolean' },
};
const OPTIONAL = new Set(['mid', 'mline']);

/** A frame as the core decodes it (`deny_unknown_fields`), or null. */
function decode(raw: unknown): Frame | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const fields = typeof r.t === 'string' ? FIELDS[r.t as Frame['t']] : undefined;
  if (fields === undefined || typeof r.call !== 'string' || !/^[0-9a-f]{32}$/.test(r.call)) return null;
  for (const key of Object.keys(r)) if (key !== 't' && key !== 'call' && !(key in fields)) return null;
  for (const [key, ok] of Object.entries(fields)) {
    if (!(key in r) && OPTIONAL.has(key)) continue;
    if (!ok(r[key])) return null;
  }
  return { ...r, ...(r.t === 'call-ice' ? { mid: r.mid ?? null, mline: r.mline ?? null } : {}) } as Frame;
}

export type CallDeps = {
  params: URLSearchParams;
  me(): string | null;
  /** A header of the command being called (`media_send` names its call in `Parley-Call`). */
  header(name: string): string | null;
  emit(event: CoreEvent): Promise<void>;
  /** Keeps a call's entry in its conversation (and emits the `message`), as the core's `record_call`. */
  record(userId: string, id: string, outgoing: boolean, video: boolean, record: { outcome: CallOutcome; duration_ms: number | null }, startedAt: number, unread: boolean): void;
  fail(code: string, message: string): never;
  needSession(): void;
};

type Live = { view: CallView; timers: ReturnType<typeof setTimeout>[] };

export function createCallMock(deps: CallDeps) {
  const { params } = deps;
  const relayName = params.get('relay');
  const channel = relayName === null ? null : new BroadcastChannel(relayName);
  const timeouts = {
    ring: Number(params.get('ring') ?? 60_000),
    reach: Number(params.get('reach') ?? 20_000),
    connect: Number(params.get('connect') ?? 30_000),
  };
  let supported = params.get('calls') !== 'unsupported';
  let current: Live | null = null;
  /** Invites per caller in the last minute (at most 5 are considered). */
  const rings = new Map<string, number[]>();

  const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  const copy = (v: CallView): CallView => ({ ...v, end: v.end === null ? null : { ...v.end } });
  const live = () => (current !== null && current.view.phase !== 'ended' ? current : null);
  // The media bridge's connection (webviews without WebRTC), for the call answered here.
  const bridge = createMediaMock({
    header: deps.header,
    call: (callId) => {
      const c = live();
      return c !== null && c.view.id === callId && (c.view.phase === 'connecting' || c.view.phase === 'active') ? { userId: c.view.user_id } : null;
    },
    post: (to, media) => channel?.postMessage({ from: deps.me(), to, media }),
    fail: deps.fail,
    needSession: deps.needSession,
  });

  function send(to: string, frame: Frame): void {
    channel?.postMessage({ from: deps.me(), to, frame });
  }
  const changed = (c: Live) => deps.emit({ event: 'call', call: copy(c.view) });
  const signal = (c: Live, s: CallSignal) => deps.emit({ event: 'call-signal', call_id: c.view.id, signal: s });
  const later = (c: Live, ms: number, run: () => void) => c.timers.push(setTimeout(run, ms));

  /** As the core's `Ended::record`. */
  function outcomeOf(end: CallEnd, answered: boolean, outgoing: boolean): CallOutcome {
    if (answered) return 'answered';
    switch (end.kind) {
      case 'declined':
        return 'declined';
      case 'busy':
        return outgoing ? 'busy' : 'missed';
      case 'missed':
        return 'missed';
      case 'no-answer':
        return 'no-answer';
      case 'cancelled':
      case 'hung-up':
      case 'merged':
        return 'cancelled';
      case 'answered-elsewhere':
        return 'answered-elsewhere';
      case 'declined-elsewhere':
        return 'declined-elsewhere';
      case 'unreachable':
        return 'unreachable';
      case 'unsupported':
        return 'unsupported';
      case 'failed':
        return 'failed';
    }
  }

  async function end(c: Live, e: CallEnd): Promise<void> {
    for (const t of c.timers) clearTimeout(t);
    c.timers = [];
    // As the core: the call's media connection closes with it.
    bridge.closeCall(c.view.id);
    c.view.phase = 'ended';
    c.view.end = e;
    if (current === c) current = null;
    await changed(c);
    if (e.kind === 'merged') return;
    const v = c.view;
    const answered = v.answered_at !== null;
    const outcome = outcomeOf(e, answered, v.outgoing);
    deps.record(v.user_id, v.id, v.outgoing, v.video, { outcome, duration_ms: answered ? Math.max(0, Date.now() - (v.answered_at ?? 0)) : null }, v.started_at, !v.outgoing && (outcome === 'missed' || outcome === 'unsupported'));
  }

  function make(id: string, userId: string, outgoing: boolean, video: boolean, phase: CallView['phase']): Live {
    return { view: { id, user_id: userId, outgoing, video, phase, end: null, remote_audio: true, remote_video: video, started_at: Date.now(), answered_at: null }, timers: [] };
  }

  /** Answered: the media is made now (the callee waits for the offer). */
  async function connecting(c: Live, offerer: boolean): Promise<void> {
    c.view.phase = 'connecting';
    later(c, timeouts.connect, () => {
      if (c.view.phase === 'connecting') {
        send(c.view.user_id, { t: 'call-hangup', call: c.view.id });
        void end(c, { kind: 'failed', reason: "the call's media did not connect" });
      }
    });
    await signal(c, { kind: 'start', offerer, ice_servers: [] });
    await changed(c);
  }

  async function invited(from: string, f: Extract<Frame, { t: 'call-invite' }>): Promise<void> {
    const now = Date.now();
    const recent = (rings.get(from) ?? []).filter((at) => now - at < 60_000);
    if (recent.length >= 5) return;
    rings.set(from, [...recent, now]);
    const busy = live();
    // Glare: both called each other at once; the call with the lower id stands.
    if (busy !== null && busy.view.outgoing && busy.view.user_id === from && (busy.view.phase === 'calling' || busy.view.phase === 'ringing-there')) {
      if (busy.view.id < f.call) return;
      await end(busy, { kind: 'merged' });
      const c = make(f.call, from, false, f.video, 'ringing-here');
      current = c;
      send(from, { t: 'call-ringing', call: f.call });
      await changed(c);
      send(from, { t: 'call-accept', call: f.call });
      await connecting(c, false);
      return;
    }
    if (busy !== null || !supported) {
      const reason = busy !== null ? 'busy' : 'unsupported';
      send(from, { t: 'call-decline', call: f.call, reason });
      deps.record(from, f.call, false, f.video, { outcome: busy !== null ? 'missed' : 'unsupported', duration_ms: null }, now, true);
      return;
    }
    const c = make(f.call, from, false, f.video, 'ringing-here');
    current = c;
    send(from, { t: 'call-ringing', call: f.call });
    // The caller vanished without a word: give up a little after its ring time.
    later(c, timeouts.ring + Math.min(5_000, timeouts.ring), () => {
      if (c.view.phase === 'ringing-here') void end(c, { kind: 'missed' });
    });
    await changed(c);
  }

  async function onFrame(from: string, raw: unknown): Promise<void> {
    const f = decode(raw);
    if (f === null) return;
    if (f.t === 'call-invite' && current?.view.id !== f.call) {
      await invited(from, f);
      return;
    }
    const c = current;
    if (c === null || c.view.id !== f.call || c.view.user_id !== from || c.view.phase === 'ended') return;
    const v = c.view;
    const answered = v.phase === 'connecting' || v.phase === 'active';
    const calling = v.phase === 'calling' || v.phase === 'ringing-there';
    switch (f.t) {
      case 'call-invite':
        if (v.phase === 'ringing-here') send(from, { t: 'call-ringing', call: v.id });
        return;
      case 'call-ringing':
        if (!calling) return;
        v.phase = 'ringing-there';
        await changed(c);
        return;
      case 'call-accept':
        if (!calling) return;
        await connecting(c, true);
        return;
      case 'call-decline':
        if (!calling) return;
        await end(c, f.reason === 'declined' ? { kind: 'declined', by: 'them' } : f.reason === 'busy' ? { kind: 'busy' } : { kind: 'unsupported' });
        return;
      case 'call-cancel':
        if (v.phase !== 'ringing-here') return;
        await end(c, f.reason === 'answered-elsewhere' ? { kind: 'answered-elsewhere' } : f.reason === 'declined-elsewhere' ? { kind: 'declined-elsewhere' } : { kind: 'missed' });
        return;
      case 'call-hangup':
        if (answered) await end(c, { kind: 'hung-up', by: 'them' });
        return;
      case 'call-sdp':
        // The caller offers, the callee answers: the other kind is refused.
        if (answered && f.kind === (v.outgoing ? 'answer' : 'offer')) await signal(c, { kind: 'sdp', sdp_kind: f.kind, sdp: f.sdp });
        return;
      case 'call-ice':
        if (answered) await signal(c, { kind: 'ice', candidate: f.candidate, mid: f.mid, mline: f.mline });
        return;
      case 'call-media':
        if (!answered || (v.remote_audio === f.audio && v.remote_video === f.video)) return;
        v.remote_audio = f.audio;
        v.remote_video = f.video;
        await changed(c);
        return;
    }
  }

  /** Frames held back (`holdCallFrames`), in order: as if the network were slow. */
  let held: { from: string; frame: unknown }[] | null = null;
  if (channel !== null) {
    channel.onmessage = ({ data }: MessageEvent) => {
      const d = data as { from?: unknown; to?: unknown; frame?: unknown; media?: unknown } | null;
      if (typeof d !== 'object' || d === null || d.to !== deps.me() || typeof d.from !== 'string') return;
      if (d.media !== undefined) bridge.fromPeer(d.media);
      else if (held !== null) held.push({ from: d.from, frame: d.frame });
      else void onFrame(d.from, d.frame);
    };
  }

  /** The call named, going on; else the command fails as the core's does. */
  function named(a: Record<string, unknown>): Live {
    deps.needSession();
    const c = live();
    if (c === null || c.view.id !== a.callId) return deps.fail('no_such_call', 'that call is over');
    return c;
  }
  const notNow = (c: Live): never => deps.fail('call_not_now', `that cannot be done now: the call is ${c.view.phase}`);

  const handlers: Record<string, (a: Record<string, unknown>) => unknown> = {
    start_call: (a) => {
      deps.needSession();
      const to = String(a.userId);
      if (to === deps.me()) return deps.fail('call_to_self', 'calling yourself is not possible');
      if (live() !== null) return deps.fail('already_in_call', 'you are already in a call: hang up first');
      if (channel === null) return deps.fail('not_reachable', 'they are not online: a call needs them online (send a message instead)');
      const c = make(newId(), to, true, a.video === true, 'calling');
      current = c;
      send(to, { t: 'call-invite', call: c.view.id, video: c.view.video, v: 1 });
      later(c, Math.min(timeouts.reach, timeouts.ring), () => {
        if (c.view.phase !== 'calling') return;
        send(to, { t: 'call-cancel', call: c.view.id, reason: 'no-answer' });
        void end(c, { kind: 'unreachable' });
      });
      later(c, timeouts.ring, () => {
        if (c.view.phase !== 'calling' && c.view.phase !== 'ringing-there') return;
        send(to, { t: 'call-cancel', call: c.view.id, reason: 'no-answer' });
        void end(c, c.view.phase === 'ringing-there' ? { kind: 'no-answer' } : { kind: 'unreachable' });
      });
      void changed(c);
      return copy(c.view);
    },
    answer_call: (a) => {
      const c = named(a);
      if (c.view.phase !== 'ringing-here') return notNow(c);
      for (const t of c.timers) clearTimeout(t);
      c.timers = [];
      send(c.view.user_id, { t: 'call-accept', call: c.view.id });
      void connecting(c, false);
      return null;
    },
    decline_call: (a) => {
      const c = named(a);
      if (c.view.phase !== 'ringing-here') return notNow(c);
      send(c.view.user_id, { t: 'call-decline', call: c.view.id, reason: 'declined' });
      void end(c, { kind: 'declined', by: 'me' });
      return null;
    },
    hang_up: (a) => {
      const c = named(a);
      const v = c.view;
      if (v.phase === 'calling' || v.phase === 'ringing-there') {
        send(v.user_id, { t: 'call-cancel', call: v.id, reason: 'cancelled' });
        void end(c, { kind: 'cancelled' });
      } else if (v.phase === 'ringing-here') {
        send(v.user_id, { t: 'call-decline', call: v.id, reason: 'declined' });
        void end(c, { kind: 'declined', by: 'me' });
      } else {
        send(v.user_id, { t: 'call-hangup', call: v.id });
        void end(c, { kind: 'hung-up', by: 'me' });
      }
      return null;
    },
    call_signal: (a) => {
      const c = named(a);
      if (c.view.phase !== 'connecting' && c.view.phase !== 'active') return notNow(c);
      const s = a.signal as CallSignal;
      if (s.kind === 'sdp') {
        if (s.sdp_kind !== (c.view.outgoing ? 'offer' : 'answer')) return deps.fail('invalid_call_signal', 'the caller offers and the callee answers');
        const f = decode({ t: 'call-sdp', call: c.view.id, kind: s.sdp_kind, sdp: s.sdp });
        if (f === null) return deps.fail('invalid_call_signal', 'a description or candidate out of bounds');
        send(c.view.user_id, f);
      } else if (s.kind === 'ice') {
        const f = decode({ t: 'call-ice', call: c.view.id, candidate: s.candidate, mid: s.mid, mline: s.mline });
        if (f === null) return deps.fail('invalid_call_signal', 'a description or candidate out of bounds');
        send(c.view.user_id, f);
      } else return deps.fail('invalid_call_signal', 'only descriptions and candidates are sent');
      return null;
    },
    call_media_state: (a) => {
      const c = named(a);
      const v = c.view;
      if (v.phase !== 'connecting' && v.phase !== 'active') return notNow(c);
      if (a.failure === null || a.failure === undefined) {
        if (v.phase === 'connecting') {
          v.phase = 'active';
          v.answered_at = Date.now();
          void changed(c);
        }
        return null;
      }
      send(v.user_id, { t: 'call-hangup', call: v.id });
      void end(c, { kind: 'failed', reason: String(a.failure) });
      return null;
    },
    set_call_media: (a) => {
      const c = named(a);
      if (c.view.phase !== 'connecting' && c.view.phase !== 'active') return notNow(c);
      send(c.view.user_id, { t: 'call-media', call: c.view.id, audio: a.audio === true, video: a.video === true });
      return null;
    },
    current_call: () => {
      const c = live();
      return c === null ? null : copy(c.view);
    },
    ...bridge.handlers,
  };

  const mock = {
    /** The call as this mock core has it (null: none going on). */
    callNow: () => {
      const c = live();
      return c === null ? null : copy(c.view);
    },
    /** A frame arrives from `from`'s device (anything: it is checked like the relay's). */
    receiveCallFrame: (from: string, frame: unknown) => onFrame(from, frame),
    /** Puts anything on the relay, to `to`, as this page's person. */
    sendRawCallFrame(to: string, frame: unknown): void {
      channel?.postMessage({ from: deps.me(), to, frame });
    },
    /** The core ends the call going on as failed (`reason`: its words); the other side hears `call-hangup`. */
    async failCall(reason: string): Promise<void> {
      const c = live();
      if (c === null) return;
      if (c.view.phase === 'connecting' || c.view.phase === 'active') send(c.view.user_id, { t: 'call-hangup', call: c.view.id });
      await end(c, { kind: 'failed', reason });
    },
    /** Holds the frames that arrive (true) until released (false): two calls can cross on the way. */
    async holdCallFrames(on: boolean): Promise<void> {
      if (on) {
        held ??= [];
        return;
      }
      const frames = held ?? [];
      held = null;
      for (const f of frames) await onFrame(f.from, f.frame);
    },
    /** Whether this device takes calls (false: as a webview without WebRTC, it answers `unsupported`). */
    setCallsSupported(on: boolean): void {
      supported = on;
    },
    /** The relay is there: the other person's device has a channel (they count as online). */
    relayed: channel !== null,
    ...bridge.mock,
  };

  return { handlers, mock };
}
