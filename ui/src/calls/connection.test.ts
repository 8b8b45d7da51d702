import { beforeAll, describe, expect, it } from 'vitest';
import type { CallSignal } from '../types';

/** Just enough of a MediaStream (Node has none). */
class FakeStream {
  private tracks: unknown[];
  constructor(tracks: unknown[] = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return this.tracks;
  }
  addTrack(t: unknown) {
    this.tracks.push(t);
  }
}

type Transceiver = {
  receiver: { track: { kind: string } };
  sender: { track: unknown; replaceTrack(t: unknown): Promise<void>; setStreams(): void };
  direction: string;
};

/** A peer connection that records what it is asked, and fails descriptions containing "bad". */
class FakePeer {
  log: string[] = [];
  remoteDescription: { type: string; sdp: string } | null = null;
  signalingState = 'stable';
  connectionState = 'new';
  private transceivers: Transceiver[] = [];
  private listeners = new Map<string, ((e: unknown) => void)[]>();

  constructor(readonly config: unknown) {}

  addEventListener(type: string, f: (e: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), f]);
  }
  fire(type: string, e: unknown) {
    for (const f of this.listeners.get(type) ?? []) f(e);
  }
  private transceiver(kind: string, track: unknown, direction: string): Transceiver {
    const t: Transceiver = {
      receiver: { track: { kind } },
      sender: {
        track,
        replaceTrack: async (x) => {
          t.sender.track = x;
        },
        setStreams: () => undefined,
      },
      direction,
    };
    this.transceivers.push(t);
    return t;
  }
  addTransceiver(trackOrKind: string | { kind: string }, init: { direction: string }) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    this.log.push(`transceiver ${kind}${typeof trackOrKind === 'string' ? ' (no track)' : ''}`);
    return this.transceiver(kind, typeof trackOrKind === 'string' ? null : trackOrKind, init.direction);
  }
  getTransceivers() {
    return this.transceivers;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0 our offer' };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'v=0 our answer' };
  }
  async setLocalDescription(d: { type: string }) {
    this.log.push(`local ${d.type}`);
    this.signalingState = 'stable';
  }
  async setRemoteDescription(d: { type: string; sdp: string }) {
    if (d.sdp.includes('bad')) {
      if (d.type === 'offer') this.signalingState = 'have-remote-offer';
      throw new Error('Failed to parse SessionDescription');
    }
    this.log.push(`remote ${d.type}`);
    this.remoteDescription = d;
    if (d.type === 'offer') {
      this.signalingState = 'have-remote-offer';
      if (this.transceivers.length === 0) {
        this.transceiver('audio', null, 'recvonly');
        this.transceiver('video', null, 'recvonly');
      }
    }
  }
  async addIceCandidate(c?: { candidate: string }) {
    this.log.push(`candidate ${c === undefined ? '(end)' : c.candidate}`);
  }
  async getStats() {
    return new Map();
  }
  close() {
    this.log.push('close');
  }
}

let CallConnection: typeof import('./connection').CallConnection;
beforeAll(async () => {
  (globalThis as { MediaStream?: unknown }).MediaStream ??= FakeStream;
  ({ CallConnection } = await import('./connection'));
});

const tick = () => new Promise((r) => setTimeout(r, 0));
const audio = { kind: 'audio' };
const video = { kind: 'video' };

function connection(offerer: boolean, isVideo = true) {
  let peer: FakePeer | null = null;
  const sent: CallSignal[] = [];
  const broken: string[] = [];
  const states: string[] = [];
  const conn = new CallConnection(
    (config) => {
      peer = new FakePeer(config);
      return peer as unknown as RTCPeerConnection;
    },
    [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }],
    offerer,
    isVideo,
    { signal: (s) => sent.push(s), state: (s) => states.push(s), track: () => undefined, broken: (r) => broken.push(r) },
  );
  return { conn, peer: peer as unknown as FakePeer, sent, broken, states };
}
const stream = () => new FakeStream() as unknown as MediaStream;

describe('CallConnection', () => {
  it('the caller negotiates sound and picture, offers, and applies candidates only after the answer, in order', async () => {
    const { conn, peer, sent } = connection(true);
    expect(peer.config).toEqual({ iceServers: [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }], bundlePolicy: 'max-bundle' });
    await conn.remoteSignal({ kind: 'ice', candidate: 'candidate:early', mid: '0', mline: 0 });
    // No camera: the picture is negotiated all the same, to be sent once there is one.
    await conn.start(stream(), audio as MediaStreamTrack, null);
    expect(peer.log).toEqual(['transceiver audio', 'transceiver video (no track)', 'local offer']);
    expect(sent).toEqual([{ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 our offer' }]);
    await conn.remoteSignal({ kind: 'ice', candidate: 'candidate:second', mid: '0', mline: 0 });
    expect(peer.log).not.toContain('candidate candidate:early');
    await conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0 their answer' });
    await tick();
    await conn.remoteSignal({ kind: 'ice', candidate: '', mid: null, mline: null });
    expect(peer.log.slice(3)).toEqual(['remote answer', 'candidate candidate:early', 'candidate candidate:second', 'candidate (end)']);
  });

  it('the callee holds an offer that came before its tracks, then answers sending both ways', async () => {
    const { conn, peer, sent } = connection(false);
    await conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 their offer' });
    expect(peer.log).toEqual([]);
    await conn.start(stream(), audio as MediaStreamTrack, video as MediaStreamTrack);
    expect(peer.log).toEqual(['remote offer', 'local answer']);
    expect(peer.getTransceivers().map((t) => [t.receiver.track.kind, t.direction, t.sender.track])).toEqual([
      ['audio', 'sendrecv', audio],
      ['video', 'sendrecv', video],
    ]);
    expect(sent).toEqual([{ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0 our answer' }]);
  });

  it('does not follow a description of the wrong kind (the caller offers, the callee answers)', async () => {
    const caller = connection(true);
    await caller.conn.start(stream(), audio as MediaStreamTrack, null);
    await caller.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 an offer to the caller' });
    expect(caller.peer.log).not.toContain('remote offer');
    const callee = connection(false);
    await callee.conn.start(stream(), audio as MediaStreamTrack, null);
    await callee.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0 an answer to the callee' });
    expect(callee.peer.log).toEqual([]);
  });

  it('a first description that can’t be used ends the call with the reason; a later one is rolled back', async () => {
    const first = connection(false);
    await first.conn.start(stream(), audio as MediaStreamTrack, null);
    await first.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 bad' });
    expect(first.broken).toEqual(['the call’s media could not be set up (their offer: Failed to parse SessionDescription)']);

    const later = connection(false);
    await later.conn.start(stream(), audio as MediaStreamTrack, null);
    await later.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 good' });
    await later.conn.remoteSignal({ kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0 bad again' });
    expect(later.broken).toEqual([]);
    expect(later.peer.log.at(-1)).toBe('local rollback');
  });

  it('sends our candidates, then one empty candidate; replaces a track without negotiating; is quiet once closed', async () => {
    const { conn, peer, sent, states } = connection(true);
    await conn.start(stream(), audio as MediaStreamTrack, video as MediaStreamTrack);
    sent.length = 0;
    peer.fire('icecandidate', { candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.2 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    peer.fire('icecandidate', { candidate: null });
    peer.fire('icecandidate', { candidate: null });
    expect(sent).toEqual([
      { kind: 'ice', candidate: 'candidate:1 1 udp 1 192.0.2.2 5000 typ host', mid: '0', mline: 0 },
      { kind: 'ice', candidate: '', mid: null, mline: null },
    ]);
    const other = { kind: 'video', label: 'other camera' };
    await conn.replaceTrack('video', other as MediaStreamTrack);
    expect(peer.getTransceivers()[1]?.sender.track).toBe(other);
    expect(peer.log.filter((l) => l.startsWith('local'))).toEqual(['local offer']);
    peer.connectionState = 'connected';
    peer.fire('connectionstatechange', {});
    conn.close();
    peer.fire('connectionstatechange', {});
    peer.fire('icecandidate', { candidate: { candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(states).toEqual(['connected']);
    expect(sent).toHaveLength(2);
    expect(peer.log.at(-1)).toBe('close');
  });
});
