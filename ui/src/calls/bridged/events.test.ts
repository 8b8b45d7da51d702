import { describe, expect, it } from 'vitest';
import { parseMediaEvent } from './events';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('parseMediaEvent', () => {
  it('takes the four events of the contract', () => {
    const offer = { kind: 'sdp', sdp_kind: 'offer', sdp: 'v=0\r\n' };
    expect(parseMediaEvent(json({ type: 'signal', signal: offer }))).toEqual({ type: 'signal', signal: offer });
    const ice = { kind: 'ice', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', mid: '0', mline: 0 };
    expect(parseMediaEvent(json({ type: 'signal', signal: ice }))).toEqual({ type: 'signal', signal: ice });
    expect(parseMediaEvent(json({ type: 'state', state: 'connected' }))).toEqual({ type: 'state', state: 'connected' });
    expect(parseMediaEvent(json({ type: 'keyframe' }))).toEqual({ type: 'keyframe' });
    expect(parseMediaEvent(json({ type: 'microphone-stopped' }))).toEqual({ type: 'microphone-stopped' });
    expect(parseMediaEvent(json({ type: 'speaker-stopped', extra: 1 }))).toEqual({ type: 'speaker-stopped' });
    expect(parseMediaEvent(json({ type: 'stats', rtt_ms: 42, packets_received: 900, packets_lost: 3 }))).toEqual({
      type: 'stats',
      rtt_ms: 42,
      packets_received: 900,
      packets_lost: 3,
      bitrate_bps: null,
    });
  });

  it('follows a bitrate in the statistics when Rust gives one, and ignores one that is none', () => {
    const stats = { type: 'stats', rtt_ms: 42, packets_received: 900, packets_lost: 3 };
    expect(parseMediaEvent(json({ ...stats, bitrate_bps: 800_000 }))).toMatchObject({ bitrate_bps: 800_000 });
    expect(parseMediaEvent(json({ ...stats, bitrate_bps: 'fast' }))).toMatchObject({ type: 'stats', bitrate_bps: null });
    expect(parseMediaEvent(json({ ...stats, bitrate_bps: 0 }))).toMatchObject({ type: 'stats', bitrate_bps: null });
  });

  it('takes measurements not made yet as null, lost below zero as none, and ignores fields added later', () => {
    expect(parseMediaEvent(json({ type: 'stats', rtt_ms: null, packets_received: 0, packets_lost: -2, jitter_ms: 3 }))).toEqual({
      type: 'stats',
      rtt_ms: null,
      packets_received: 0,
      packets_lost: 0,
      bitrate_bps: null,
    });
    expect(parseMediaEvent(json({ type: 'keyframe', reason: 'pli' }))).toEqual({ type: 'keyframe' });
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{"type":')],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d])],
    ['not an object', json(['state', 'connected'])],
    ['null', json(null)],
    ['an unknown type', json({ type: 'reboot' })],
    ['no type', json({ state: 'connected' })],
    ['an unknown state', json({ type: 'state', state: 'exploded' })],
    ['a start signal (the core’s word, not the connection’s)', json({ type: 'signal', signal: { kind: 'start', offerer: true, ice_servers: [] } })],
    ['a description that is none', json({ type: 'signal', signal: { kind: 'sdp', sdp_kind: 'offer', sdp: '<b>hi</b>' } })],
    ['a candidate over two lines', json({ type: 'signal', signal: { kind: 'ice', candidate: 'a\nb', mid: null, mline: null } })],
    ['statistics that are not numbers', json({ type: 'stats', rtt_ms: 'fast', packets_received: 1, packets_lost: 0 })],
    ['statistics without packets', json({ type: 'stats', rtt_ms: 1, packets_lost: 0 })],
    ['a negative round trip', json({ type: 'stats', rtt_ms: -1, packets_received: 1, packets_lost: 0 })],
  ])('drops %s', (_what, payload) => {
    expect(parseMediaEvent(payload)).toBeNull();
  });
});
