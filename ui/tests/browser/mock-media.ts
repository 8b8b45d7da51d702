/**
 * The mock core's media bridge (docs/call-media-bridge.md), for the browser tests of calls in a
 * webview without WebRTC: the five `media_*` commands as Rust answers them, the two pages'
 * "connections" joined through the call relay's BroadcastChannel (mock-calls.ts).
 *
 * - `media_open` makes the call's connection (only for the call going on: `no_such_call`
 *   otherwise) and tells the other page; the offerer's offer and candidates follow as `signal`
 *   events, and the answerer's answer once `media_signal` brought the offer. The state is
 *   `connecting` at once and `connected` once both pages opened; the side that opened first gets
 *   a `keyframe` event when the other one opens (its picture must start again for it).
 * - `media_send` (the records as the raw body, the call in the `Parley-Call` header) checks the
 *   records as Rust does (whole records, video or audio only: `invalid_call_media`), drops them
 *   before `connected`, and hands them to the other page as Rust would after packetizing and
 *   reassembling: the same payloads and key flags, the time now the sender's media clock (µs
 *   since its first frame of that kind), the duration 0.
 * - `media_receive` answers what came, waiting up to 1 s (no bytes when nothing did); a `stats`
 *   event every 2 s while connected. `no_such_call` once closed: `media_close`, or the call's end.
 *
 * The records are read and written here by hand, not with the app's code, so that the tests
 * check the app against the contract rather than against itself.
 *
 * `window.__parleyMock`: `mediaNow()` (what this page's connection saw: opened, connected,
 * records sent by kind, key frames, records received, the most `media_receive` calls waiting at
 * once), `injectMedia(bytes)` (raw bytes into what `media_receive` answers next, as if Rust sent
 * them), `injectMediaEvent(event)` (an event record holding the JSON of anything).
 */

type Counts = { video: number; audio: number; keys: number; dropped: number };
type Connection = {
  callId: string;
  offerer: boolean;
  open: boolean;
  connected: boolean;
  closed: boolean;
  queue: Uint8Array[];
  waiter: { resolve(bytes: Uint8Array): void; reject(e: unknown): void; timer: ReturnType<typeof setTimeout> } | null;
  waiting: number;
  maxWaiting: number;
  /** The first capture time of each kind sent: the sender's media clock counts from it. */
  firstUs: { video: bigint | null; audio: bigint | null };
  sent: Counts;
  received: { video: number; audio: number };
  stats: ReturnType<typeof setInterval> | null;
};

export type MediaDeps = {
  header(name: string): string | null;
  /** The call with this id, going on here (null: none): who is on the other side. */
  call(callId: string): { userId: string } | null;
  /** Puts `media` on the relay for `to`'s page. */
  post(to: string, media: unknown): void;
  fail(code: string, message: string): never;
  needSession(): void;
};

const HEADER = 20;
const KIND = { video: 1, audio: 2, event: 3 } as const;

/** One record, laid out as the contract says. */
function record(kind: number, flags: number, timeUs: bigint, durationUs: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint8(1, flags);
  view.setUint32(4, payload.length, true);
  view.setBigUint64(8, timeUs, true);
  view.setUint32(16, durationUs, true);
  out.set(payload, HEADER);
  return out;
}
const eventRecord = (event: unknown) => record(KIND.event, 0, 0n, 0, new TextEncoder().encode(JSON.stringify(event)));

type Parsed = { kind: number; flags: number; timeUs: bigint; payload: Uint8Array };

/** The records of a `media_send` body, or why not. */
function parse(bytes: Uint8Array): Parsed[] | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Parsed[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < HEADER) return 'a record header cut short';
    const kind = view.getUint8(at);
    const length = view.getUint32(at + 4, true);
    if (kind !== KIND.video && kind !== KIND.audio) return `a record of kind ${kind}: only video and audio are sent`;
    if (length > 4 * 1024 * 1024 || at + HEADER + length > bytes.length) return 'a record cut short, or over 4 MiB';
    out.push({ kind, flags: view.getUint8(at + 1), timeUs: view.getBigUint64(at + 8, true), payload: bytes.slice(at + HEADER, at + HEADER + length) });
    at += HEADER + length;
  }
  return out;
}

const join = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const OFFER = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=parley-mock-bridge\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
const ANSWER = OFFER.replace('s=parley-mock-bridge', 's=parley-mock-bridge-answer');
const CANDIDATE = (port: number) => ({ kind: 'ice', candidate: `candidate:1 1 udp 2130706431 127.0.0.1 ${port} typ host`, mid: '0', mline: 0 });
const END_OF_CANDIDATES = { kind: 'ice', candidate: '', mid: '0', mline: 0 };

export function createMediaMock(deps: MediaDeps) {
  let conn: Connection | null = null;
  /** Calls whose other page opened its connection (perhaps before this one did). */
  const peerOpened = new Set<string>();
  let peerOf: string | null = null;

  function hand(c: Connection, bytes: Uint8Array): void {
    if (c.closed) return;
    c.queue.push(bytes);
    const w = c.waiter;
    if (w !== null) {
      c.waiter = null;
      clearTimeout(w.timer);
      w.resolve(take(c));
    }
  }
  const event = (c: Connection, e: unknown) => hand(c, eventRecord(e));
  function take(c: Connection): Uint8Array {
    const bytes = join(c.queue);
    c.queue = [];
    return bytes;
  }

  function connect(c: Connection): void {
    if (c.connected || !c.open || !peerOpened.has(c.callId)) return;
    c.connected = true;
    event(c, { type: 'state', state: 'connected' });
    c.stats = setInterval(() => {
      const r = c.received;
      event(c, { type: 'stats', rtt_ms: 24, packets_received: r.video + r.audio, packets_lost: 0, bitrate_bps: null });
    }, 2000);
  }

  function close(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    c.connected = false;
    if (c.stats !== null) clearInterval(c.stats);
    const w = c.waiter;
    c.waiter = null;
    if (w !== null) {
      clearTimeout(w.timer);
      w.reject({ code: 'no_such_call', message: 'that call’s media connection is closed' });
    }
  }

  /** This page's open connection for the command's call; else `no_such_call`, as Rust. */
  function named(callId: unknown): Connection {
    deps.needSession();
    if (conn === null || conn.closed || conn.callId !== callId) return deps.fail('no_such_call', 'no media connection for that call');
    return conn;
  }

  const handlers: Record<string, (a: Record<string, unknown>) => unknown> = {
    media_open: (a) => {
      deps.needSession();
      const callId = String(a.callId);
      const call = deps.call(callId);
      if (call === null) return deps.fail('no_such_call', 'that call is not this device’s current one');
      if (typeof a.offerer !== 'boolean' || typeof a.video !== 'boolean' || !Array.isArray(a.iceServers)) return deps.fail('invalid_input', 'media_open takes callId, offerer, video, iceServers');
      if (conn !== null && conn.callId !== callId) close(conn);
      if (conn?.callId === callId && !conn.closed) return null;
      const c: Connection = {
        callId,
        offerer: a.offerer,
        open: true,
        connected: false,
        closed: false,
        queue: [],
        waiter: null,
        waiting: 0,
        maxWaiting: 0,
        firstUs: { video: null, audio: null },
        sent: { video: 0, audio: 0, keys: 0, dropped: 0 },
        received: { video: 0, audio: 0 },
        stats: null,
      };
      conn = c;
      peerOf = call.userId;
      event(c, { type: 'state', state: 'connecting' });
      if (c.offerer) {
        event(c, { type: 'signal', signal: { kind: 'sdp', sdp_kind: 'offer', sdp: OFFER } });
        event(c, { type: 'signal', signal: CANDIDATE(50000) });
        event(c, { type: 'signal', signal: END_OF_CANDIDATES });
      }
      deps.post(call.userId, { t: 'open', call: callId });
      connect(c);
      return null;
    },
    media_signal: (a) => {
      const c = named(a.callId);
      const s = a.signal as { kind?: unknown; sdp_kind?: unknown } | null;
      if (s === null || typeof s !== 'object' || (s.kind !== 'sdp' && s.kind !== 'ice')) return deps.fail('invalid_call_signal', 'only descriptions and candidates go to the media connection');
      if (s.kind === 'sdp' && s.sdp_kind !== (c.offerer ? 'answer' : 'offer')) return deps.fail('call_media_failed', 'a description of the wrong kind');
      if (s.kind === 'sdp' && !c.offerer) {
        event(c, { type: 'signal', signal: { kind: 'sdp', sdp_kind: 'answer', sdp: ANSWER } });
        event(c, { type: 'signal', signal: CANDIDATE(50002) });
        event(c, { type: 'signal', signal: END_OF_CANDIDATES });
      }
      return null;
    },
    media_send: (a) => {
      const c = named(deps.header('Parley-Call'));
      if (!((a as unknown) instanceof Uint8Array)) return deps.fail('invalid_input', 'send the media records as the request body');
      const records = parse(a as unknown as Uint8Array);
      if (typeof records === 'string') return deps.fail('invalid_call_media', records);
      const out: Uint8Array[] = [];
      for (const r of records) {
        const kind = r.kind === KIND.video ? 'video' : 'audio';
        // Not connected yet: the connection can't take it.
        if (!c.connected) {
          c.sent.dropped++;
          continue;
        }
        c.sent[kind]++;
        if (kind === 'video' && (r.flags & 1) !== 0) c.sent.keys++;
        const first = (c.firstUs[kind] ??= r.timeUs);
        out.push(record(r.kind, r.flags & 1, r.timeUs > first ? r.timeUs - first : 0n, 0, r.payload));
      }
      if (out.length > 0 && peerOf !== null) deps.post(peerOf, { t: 'records', call: c.callId, bytes: join(out) });
      return null;
    },
    media_receive: (a) => {
      const c = named(a.callId);
      if (c.queue.length > 0) return take(c);
      c.waiting++;
      c.maxWaiting = Math.max(c.maxWaiting, c.waiting);
      return new Promise<Uint8Array>((resolve, reject) => {
        const done = () => (c.waiting = Math.max(0, c.waiting - 1));
        const timer = setTimeout(() => {
          if (c.waiter?.timer === timer) c.waiter = null;
          done();
          resolve(take(c));
        }, 1000);
        c.waiter = {
          timer,
          resolve: (bytes) => {
            done();
            resolve(bytes);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        };
      });
    },
    // No sound server in a browser: the page plays the call's sound.
    media_speaker: (a) => {
      named(a.callId);
      return { playing: false, echo_cancelled: false, detail: 'no sound server here' };
    },
    media_close: (a) => {
      const c = named(a.callId);
      close(c);
      return null;
    },
  };

  return {
    handlers,
    /** What the other page's bridge put on the relay for this one. */
    fromPeer(raw: unknown): void {
      const m = raw as { t?: unknown; call?: unknown; bytes?: unknown } | null;
      if (m === null || typeof m !== 'object' || typeof m.call !== 'string') return;
      const c = conn !== null && conn.callId === m.call && !conn.closed ? conn : null;
      if (m.t === 'open') {
        peerOpened.add(m.call);
        if (c !== null) {
          event(c, { type: 'keyframe' });
          connect(c);
        }
      } else if (m.t === 'records' && m.bytes instanceof Uint8Array && c !== null && c.connected) {
        const parsed = parse(m.bytes);
        if (typeof parsed !== 'string') for (const r of parsed) c.received[r.kind === KIND.video ? 'video' : 'audio']++;
        hand(c, m.bytes);
      }
    },
    /** The call ended: its media connection closes, as the core closes it. */
    closeCall(callId: string): void {
      if (conn?.callId === callId) close(conn);
      peerOpened.delete(callId);
    },
    mock: {
      /** What this page's media connection saw (null: none made). */
      mediaNow() {
        const c = conn;
        if (c === null) return null;
        return { callId: c.callId, open: c.open, connected: c.connected, closed: c.closed, sent: { ...c.sent }, received: { ...c.received }, maxWaiting: c.maxWaiting };
      },
      /** Raw bytes into what `media_receive` answers next, as if Rust sent them. */
      injectMedia(bytes: number[]): void {
        if (conn !== null) hand(conn, Uint8Array.from(bytes));
      },
      /** An event record holding the JSON of `event` (anything), as if Rust sent it. */
      injectMediaEvent(event: unknown): void {
        if (conn !== null) hand(conn, eventRecord(event));
      },
    },
  };
}
