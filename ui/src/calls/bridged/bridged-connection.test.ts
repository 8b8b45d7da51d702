import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CallSignal } from '../../types';
import type { ConnectionEvents } from '../media-connection';
import type { BridgedMedia, MediaPort, RecordSink } from './bridged-connection';
import { encodeRecords, type MediaRecord } from './records';

/** Just enough of a MediaStream (Node has none). */
class FakeStream {
  private tracks: unknown[] = [];
  getTracks() {
    return this.tracks;
  }
  addTrack(t: unknown) {
    this.tracks.push(t);
  }
}

let BridgedConnection: typeof import('./bridged-connection').BridgedConnection;
beforeAll(async () => {
  (globalThis as { MediaStream?: unknown }).MediaStream ??= FakeStream;
  ({ BridgedConnection } = await import('./bridged-connection'));
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const gone = { code: 'no_such_call', message: 'that call is over' };
const event = (e: unknown): MediaRecord => ({ kind: 'event', key: false, timeUs: 0, durationUs: 0, payload: new TextEncoder().encode(JSON.stringify(e)) });
const frame = (kind: 'video' | 'audio', timeUs: number): MediaRecord => ({ kind, key: false, timeUs, durationUs: 0, payload: Uint8Array.from([timeUs]) });

/** The commands, answering as the test says; `media_receive` calls wait until answered. */
function fakePort() {
  const log: string[] = [];
  const receives: { resolve(b: Uint8Array): void; reject(e: unknown): void }[] = [];
  const sent: Uint8Array[] = [];
  let outstanding = 0;
  let maxOutstanding = 0;
  let openFails: unknown = null;
  /** What `media_microphone` answers: the app captures the microphone, or not. */
  let appMicrophone = false;
  /** What `media_speaker` answers: the app plays the sound, or not; and how often it was asked. */
  let appSpeaker = false;
  let speakerAsks = 0;
  const signalFails = new Set<string>();
  const port: MediaPort = {
    mediaOpen: async (callId, offerer, video, ice) => {
      log.push(`open ${callId} ${offerer} ${video} ${ice.length}`);
      if (openFails !== null) throw openFails;
    },
    mediaSignal: async (_id, s) => {
      const name = s.kind === 'sdp' ? s.sdp_kind : s.kind === 'ice' ? `ice ${s.candidate}` : s.kind;
      log.push(`signal ${name}`);
      if (signalFails.has(name)) throw { code: 'invalid_input', message: `bad ${name}` };
    },
    mediaSend: async (_id, bytes) => {
      sent.push(bytes);
    },
    mediaReceive: (callId) => {
      log.push(`receive ${callId}`);
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      return new Promise<Uint8Array>((resolve, reject) =>
        receives.push({
          resolve: (b) => {
            outstanding--;
            resolve(b);
          },
          reject: (e) => {
            outstanding--;
            reject(e);
          },
        }),
      );
    },
    mediaMicrophone: async (callId, label, on) => {
      log.push(`microphone ${callId} ${label} ${on}`);
      return { captured: appMicrophone, echo_cancelled: false, detail: appMicrophone ? 'alsa_input.x' : 'no such source' };
    },
    mediaSpeaker: async () => {
      speakerAsks++;
      return { playing: appSpeaker, echo_cancelled: false, detail: appSpeaker ? 'alsa_output.x' : 'no sound server' };
    },
    mediaClose: async (callId) => {
      log.push(`close ${callId}`);
    },
  };
  return {
    port,
    log,
    sent,
    get maxOutstanding() {
      return maxOutstanding;
    },
    get waiting() {
      return receives.length;
    },
    /** Answers the `media_receive` call waiting. */
    async answer(records: MediaRecord[] | Uint8Array) {
      const r = receives.shift();
      if (r === undefined) throw new Error('no media_receive waiting');
      r.resolve(records instanceof Uint8Array ? records : encodeRecords(records));
      await flush();
    },
    async fail(e: unknown) {
      receives.shift()?.reject(e);
      await flush();
    },
    failOpen: (e: unknown) => (openFails = e),
    captureInApp: (yes: boolean) => (appMicrophone = yes),
    playInApp: (yes: boolean) => (appSpeaker = yes),
    get speakerAsks() {
      return speakerAsks;
    },
    failSignal: (name: string) => signalFails.add(name),
  };
}

/** Media that notes what it is asked. */
function fakeMedia(video: boolean) {
  const log: string[] = [];
  const received: string[] = [];
  let sink: RecordSink = () => false;
  const make = (v: boolean, send: RecordSink): BridgedMedia => {
    sink = send;
    const receiver = (kind: string) => ({ view: { id: `${kind} view` } as HTMLCanvasElement, receive: (r: MediaRecord) => received.push(`${kind} ${r.timeUs}`), close: () => log.push(`close ${kind} receiver`) });
    return {
      audioSender: { setTrack: (t) => log.push(`audio track ${t?.id ?? null}`), close: () => log.push('close audio sender') },
      videoSender: v
        ? {
            view: { id: 'camera view' } as HTMLVideoElement,
            setTrack: (t) => log.push(`video track ${t?.id ?? null}`),
            requestKeyFrame: () => log.push('key frame'),
            setBitrate: (b) => log.push(`bitrate ${b}`),
            close: () => log.push('close video sender'),
          }
        : null,
      audioReceiver: receiver('audio'),
      videoReceiver: v ? receiver('video') : null,
      restAudio: (resting) => log.push(`rest ${resting}`),
      close: () => log.push('close audio'),
    };
  };
  return { make, log, received, send: (r: MediaRecord) => sink(r), video };
}

function connection(offerer = true, video = true, setPort: (port: ReturnType<typeof fakePort>) => void = () => undefined) {
  const port = fakePort();
  setPort(port);
  const media = fakeMedia(video);
  const signals: CallSignal[] = [];
  const states: string[] = [];
  const broken: string[] = [];
  let tracks = 0;
  const events: ConnectionEvents = { signal: (s) => signals.push(s), state: (s) => states.push(s), track: () => tracks++, broken: (r) => broken.push(r) };
  const conn = new BridgedConnection(port.port, { callId: 'c1', offerer, video, iceServers: [] }, events, media.make);
  return { conn, port, media, signals, states, broken, tracks: () => tracks };
}

const track = (id: string, label = `mic ${id}`) => ({ id, label, enabled: true }) as MediaStreamTrack;

describe('BridgedConnection', () => {
  it('opens the Rust connection, shows the picture’s view, and keeps one media_receive waiting for as long as it lasts', async () => {
    const c = connection();
    await flush();
    expect(c.port.log).toEqual(['open c1 true true 0', 'receive c1']);
    // The sound plays in the call's audio context (AudioReceiver), the picture on the video receiver's canvas.
    expect(c.conn.remote.getTracks()).toEqual([]);
    expect(c.conn.remoteView?.id).toBe('video view');
    // Our preview is the camera's <video> the sender reads.
    expect(c.conn.localView?.id).toBe('camera view');
    expect(c.tracks()).toBe(1);
    const audioOnly = connection(true, false).conn;
    expect([audioOnly.remoteView, audioOnly.localView]).toEqual([null, null]);
    await c.port.answer([]);
    await c.port.answer([frame('audio', 1)]);
    await c.port.answer(new Uint8Array(0));
    expect(c.port.waiting).toBe(1);
    expect(c.port.maxOutstanding).toBe(1);
    expect(c.port.log.filter((l) => l.startsWith('receive'))).toHaveLength(4);
  });

  it('hands frames to their receivers and acts on events; what can’t be read is dropped and the rest goes on', async () => {
    const c = connection();
    await flush();
    const offer: CallSignal = { kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0\r\n' };
    const garbled = encodeRecords([frame('audio', 7), event({ type: 'keyframe' })]);
    await c.port.answer([
      frame('video', 1),
      event({ type: 'signal', signal: offer }),
      event({ type: 'state', state: 'connecting' }),
      event({ type: 'state', state: 'connected' }),
      event({ type: 'nonsense' }),
      { ...event(null), payload: Uint8Array.from([0xff, 0x00]) },
      frame('audio', 2),
      event({ type: 'keyframe' }),
      event({ type: 'stats', rtt_ms: 30, packets_received: 100, packets_lost: 2, bitrate_bps: 600_000 }),
    ]);
    // A buffer cut short: the records before the cut still count.
    await c.port.answer(garbled.subarray(0, garbled.length - 3));
    expect(c.media.received).toEqual(['video 1', 'audio 2', 'audio 7']);
    expect(c.signals).toEqual([offer]);
    expect(c.states).toEqual(['connecting', 'connected']);
    expect(c.conn.state).toBe('connected');
    expect(c.media.log).toEqual(['key frame', 'key frame', 'bitrate 600000']);
    expect(await c.conn.stats()).toEqual({ rttMs: 30, packetsReceived: 100, packetsLost: 2 });
    expect(c.broken).toEqual([]);
  });

  it('has no statistics before the first stats event', async () => {
    const c = connection();
    expect(await c.conn.stats()).toBeNull();
  });

  it('forwards the other side’s signals in order once open, and not a description of the wrong kind', async () => {
    const c = connection(false);
    const ice: CallSignal = { kind: 'ice', candidate: 'candidate:1', mid: '0', mline: 0 };
    const sent = [
      c.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0\r\n' }),
      c.conn.remoteSignal(ice),
      c.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0\r\n' }),
      c.conn.remoteSignal({ kind: 'start', offerer: true, ice_servers: [] }),
    ];
    await Promise.all(sent);
    expect(c.port.log.filter((l) => !l.startsWith('receive'))).toEqual(['open c1 false true 0', 'signal offer', 'signal ice candidate:1']);
  });

  it('a first description Rust can’t use ends the call with the reason; a candidate, or a later description, does not', async () => {
    const c = connection();
    c.port.failSignal('answer');
    c.port.failSignal('ice candidate:bad');
    await c.conn.remoteSignal({ kind: 'ice', candidate: 'candidate:bad', mid: null, mline: null });
    expect(c.broken).toEqual([]);
    await c.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0\r\n' });
    expect(c.broken).toEqual(['the call\u2019s media could not be set up (their answer: bad answer)']);

    const later = connection();
    await later.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0\r\n' });
    later.port.failSignal('answer');
    await later.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0\r\nagain' });
    expect(later.port.log.filter((l) => l.startsWith('signal'))).toEqual(['signal answer', 'signal answer']);
    expect(later.broken).toEqual([]);
  });

  it('asks the app to play the sound once open; the audio context rests only while the app also captures the microphone', async () => {
    // No sound server: asked once, the page plays, nothing rests.
    const none = connection();
    await flush();
    expect(none.port.speakerAsks).toBe(1);
    none.port.captureInApp(true);
    await none.conn.start({} as MediaStream, track('mic', 'Built-in Audio'), null);
    await flush();
    expect(none.media.log.filter((l) => l.startsWith('rest'))).toEqual([]);

    const c = connection(true, true, (p) => {
      p.playInApp(true);
      p.captureInApp(true);
    });
    await flush();
    expect(c.media.log.filter((l) => l.startsWith('rest'))).toEqual([]);
    await c.conn.start({} as MediaStream, track('mic', 'Built-in Audio'), null);
    await flush();
    const rests = () => c.media.log.filter((l) => l.startsWith('rest'));
    expect(rests()).toEqual(['rest true']);
    // The app's capture stopped: the page sends again, so its context runs.
    await c.port.answer([event({ type: 'microphone-stopped' })]);
    expect(rests()).toEqual(['rest true', 'rest false']);
    // Captured again, then the app's playing stopped: the page plays again.
    await c.conn.replaceTrack('audio', track('mic2', 'Built-in Audio'));
    await flush();
    expect(rests()).toEqual(['rest true', 'rest false', 'rest true']);
    await c.port.answer([event({ type: 'speaker-stopped' })]);
    expect(rests()).toEqual(['rest true', 'rest false', 'rest true', 'rest false']);
    // What comes now is the page's to play.
    await c.port.answer([frame('audio', 9)]);
    expect(c.media.received).toEqual(['audio 9']);
    c.conn.close();
  });

  it('the senders get our tracks, and other devices mid-call', async () => {
    const c = connection();
    await c.conn.start({} as MediaStream, track('mic'), track('cam'));
    await c.conn.replaceTrack('video', track('cam2'));
    await c.conn.replaceTrack('audio', null);
    expect(c.media.log).toEqual(['audio track mic', 'video track cam', 'video track cam2', 'audio track null']);
  });

  it('the app captures the microphone where it can: the page’s sender lets go of it, and takes it again when the app’s stops', async () => {
    const c = connection();
    c.port.captureInApp(true);
    await c.conn.start({} as MediaStream, track('mic', 'Built-in Audio'), null);
    await flush();
    expect(c.port.log).toContain('microphone c1 Built-in Audio true');
    // The page sent until the app said it captures.
    const audio = () => c.media.log.filter((l) => l.startsWith('audio'));
    expect(audio()).toEqual(['audio track mic', 'audio track null']);
    await c.port.answer([event({ type: 'microphone-stopped' })]);
    expect(audio()).toEqual(['audio track mic', 'audio track null', 'audio track mic']);

    // A device the app can't capture: the page's sender has it.
    const d = connection();
    await d.conn.start({} as MediaStream, track('mock', 'Mock audio device 1'), null);
    await flush();
    expect(d.port.log).toContain('microphone c1 Mock audio device 1 true');
    expect(d.media.log.filter((l) => l.startsWith('audio'))).toEqual(['audio track mock']);
  });

  it('sends what the senders encode only while connected (before, it is refused, so the picture starts from a key frame)', async () => {
    const c = connection();
    await flush();
    expect(c.media.send(frame('video', 1))).toBe(false);
    await c.port.answer([event({ type: 'state', state: 'connected' })]);
    expect(c.media.send(frame('video', 2))).toBe(true);
    expect(c.media.send(frame('audio', 3))).toBe(true);
    await flush();
    expect(c.port.sent).toHaveLength(2);
    await c.port.answer([event({ type: 'state', state: 'disconnected' })]);
    expect(c.media.send(frame('audio', 4))).toBe(false);
    expect(c.states).toEqual(['connected', 'disconnected']);
  });

  it('a sound-only call has no picture to send or show', async () => {
    const c = connection(true, false);
    await flush();
    expect(c.port.log[0]).toBe('open c1 true false 0');
    expect(c.conn.remote.getTracks()).toEqual([]);
    await c.port.answer([frame('video', 1), event({ type: 'keyframe' })]);
    expect(c.media.received).toEqual([]);
  });

  it('media_receive: no_such_call (the call ended) stops quietly; other failures are tried again, five in a row end the call', async () => {
    const c = connection();
    await flush();
    await c.port.fail(gone);
    expect(c.port.waiting).toBe(0);
    expect(c.broken).toEqual([]);

    vi.useFakeTimers();
    const d = connection();
    await flush();
    for (let i = 1; i <= 5; i++) {
      await d.port.fail({ code: 'internal', message: `hiccup ${i}` });
      await vi.advanceTimersByTimeAsync(100 * i);
    }
    expect(d.broken).toEqual(['the call\u2019s media stopped arriving (hiccup 5)']);
    expect(d.port.waiting).toBe(0);
  });

  it('a connection that can’t be opened ends the call with the reason, unless the call is over already', async () => {
    const c = fakePort();
    c.failOpen({ code: 'invalid_input', message: 'no ICE servers\nat all' });
    const broken: string[] = [];
    const events = { signal: () => undefined, state: () => undefined, track: () => undefined, broken: (r: string) => broken.push(r) };
    new BridgedConnection(c.port, { callId: 'c1', offerer: true, video: true, iceServers: [] }, events, fakeMedia(true).make);
    await flush();
    expect(broken).toEqual(['the call\u2019s media could not be set up (no ICE servers at all)']);
    expect(c.waiting).toBe(0);

    const d = fakePort();
    d.failOpen(gone);
    new BridgedConnection(d.port, { callId: 'c1', offerer: true, video: true, iceServers: [] }, events, fakeMedia(true).make);
    await flush();
    expect(broken).toHaveLength(1);
  });

  it('closing lets the media go, closes the Rust connection, and is quiet after', async () => {
    const c = connection();
    await flush();
    c.conn.close();
    c.conn.close();
    expect(c.media.log).toEqual(['close audio sender', 'close video sender', 'close audio receiver', 'close video receiver', 'close audio']);
    expect(c.port.log.filter((l) => l.startsWith('close'))).toEqual(['close c1']);
    expect(c.conn.state).toBe('closed');
    await c.port.answer([event({ type: 'state', state: 'connected' }), frame('audio', 1)]);
    expect(c.port.waiting).toBe(0);
    expect(c.states).toEqual([]);
    expect(c.media.received).toEqual([]);
    await c.conn.remoteSignal({ kind: 'ice', candidate: 'candidate:1', mid: null, mline: null });
    expect(c.port.log.some((l) => l.startsWith('signal'))).toBe(false);
  });
});
