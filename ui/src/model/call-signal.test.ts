import { describe, expect, it } from 'vitest';
import { CandidateQueue, CandidateSignals, iceServersConfig, MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, parseCallSignal } from './call-signal';

describe('parseCallSignal', () => {
  it('takes the three signals as the core sends them', () => {
    expect(parseCallSignal({ kind: 'start', offerer: true, ice_servers: [{ urls: ['stun:s.example:3478'], username: null, credential: null }] })).toEqual({
      kind: 'start',
      offerer: true,
      ice_servers: [{ urls: ['stun:s.example:3478'], username: null, credential: null }],
    });
    expect(parseCallSignal({ kind: 'sdp', sdp_kind: 'answer', sdp: 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n' })?.kind).toBe('sdp');
    expect(parseCallSignal({ kind: 'ice', candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', mid: '0', mline: 0 })).toEqual({ kind: 'ice', candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', mid: '0', mline: 0 });
    expect(parseCallSignal({ kind: 'ice', candidate: '', mid: null, mline: null })).toEqual({ kind: 'ice', candidate: '', mid: null, mline: null });
    // A missing optional field reads as none.
    expect(parseCallSignal({ kind: 'ice', candidate: '' })).toEqual({ kind: 'ice', candidate: '', mid: null, mline: null });
  });

  it.each([
    null,
    'start',
    [],
    {},
    { kind: 'bogus' },
    { kind: 'start', offerer: 'yes', ice_servers: [] },
    { kind: 'start', offerer: true, ice_servers: [{ urls: 'stun:x' }] },
    { kind: 'start', offerer: true, ice_servers: [{ urls: ['turn:x'], username: 5 }] },
    { kind: 'sdp', sdp_kind: 'pranswer', sdp: 'v=0' },
    { kind: 'sdp', sdp_kind: 'offer', sdp: 42 },
    { kind: 'sdp', sdp_kind: 'offer', sdp: '<script>alert(1)</script>' },
    { kind: 'sdp', sdp_kind: 'offer', sdp: `v=0${'a'.repeat(MAX_SDP_BYTES)}` },
    { kind: 'ice', candidate: 'a\nb', mid: null, mline: null },
    { kind: 'ice', candidate: 'x'.repeat(MAX_CANDIDATE_BYTES + 1), mid: null, mline: null },
    { kind: 'ice', candidate: 'c', mid: 7, mline: null },
    { kind: 'ice', candidate: 'c', mid: 'm'.repeat(65), mline: null },
    { kind: 'ice', candidate: 'c', mid: null, mline: -1 },
    { kind: 'ice', candidate: 'c', mid: null, mline: 1.5 },
  ])('refuses %j', (raw) => {
    expect(parseCallSignal(raw)).toBeNull();
  });
});

describe('iceServersConfig', () => {
  it('passes TURN credentials only where there are, and drops servers without URLs', () => {
    expect(
      iceServersConfig([
        { urls: ['stun:s:3478'], username: null, credential: null },
        { urls: ['turn:t:3478'], username: 'u', credential: 'p' },
        { urls: [], username: null, credential: null },
      ]),
    ).toEqual([{ urls: ['stun:s:3478'] }, { urls: ['turn:t:3478'], username: 'u', credential: 'p' }]);
  });
});

describe('CandidateSignals', () => {
  it('sends each candidate, then one empty candidate at the end, and nothing after', () => {
    const out = new CandidateSignals();
    expect(out.next({ candidate: 'candidate:1 1 udp 9 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 })).toEqual({ kind: 'ice', candidate: 'candidate:1 1 udp 9 10.0.0.1 5000 typ host', mid: '0', mline: 0 });
    // The per-section empty candidate some webviews give: not the end yet.
    expect(out.next({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 })).toBeNull();
    expect(out.next({ candidate: 'x'.repeat(MAX_CANDIDATE_BYTES + 1), sdpMid: null, sdpMLineIndex: null })).toBeNull();
    expect(out.next(null)).toEqual({ kind: 'ice', candidate: '', mid: null, mline: null });
    expect(out.next(null)).toBeNull();
    expect(out.next({ candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 })).toBeNull();
  });
});

describe('CandidateQueue', () => {
  it('holds candidates until the remote description is set, then lets them through in order', () => {
    const q = new CandidateQueue<string>();
    expect(q.add('a')).toBe(false);
    expect(q.add('b')).toBe(false);
    expect(q.waiting).toBe(2);
    expect(q.open()).toEqual(['a', 'b']);
    expect(q.waiting).toBe(0);
    expect(q.add('c')).toBe(true);
    expect(q.open()).toEqual([]);
  });
});
