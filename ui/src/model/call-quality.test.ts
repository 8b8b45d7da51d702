import { describe, expect, it } from 'vitest';
import { bridgeSample, qualityOf, qualityText, sampleStats } from './call-quality';

describe('sampleStats', () => {
  it('takes the round trip of the selected pair and sums incoming packets', () => {
    const s = sampleStats([
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'P2' },
      { id: 'P1', type: 'candidate-pair', state: 'failed', nominated: false, currentRoundTripTime: 0.9 },
      { id: 'P2', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.0452 },
      { id: 'A', type: 'inbound-rtp', kind: 'audio', packetsReceived: 1000, packetsLost: 10 },
      { id: 'V', type: 'inbound-rtp', kind: 'video', packetsReceived: 3000, packetsLost: -2 },
      { id: 'O', type: 'outbound-rtp', packetsSent: 99 },
    ]);
    expect(s).toEqual({ rttMs: 45, packetsReceived: 4000, packetsLost: 10 });
  });

  it('falls back on a nominated pair, then on the other side’s reports; nothing measured is null', () => {
    expect(sampleStats([{ id: 'P', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.1 }]).rttMs).toBe(100);
    expect(sampleStats([{ id: 'R', type: 'remote-inbound-rtp', roundTripTime: 0.25 }, { id: 'R2', type: 'remote-inbound-rtp', roundTripTime: 0.05 }]).rttMs).toBe(250);
    expect(sampleStats([])).toEqual({ rttMs: null, packetsReceived: 0, packetsLost: 0 });
  });
});

describe('bridgeSample', () => {
  it('makes the same sample of the media bridge’s statistics, for the same indicator', () => {
    expect(bridgeSample({ rtt_ms: 45.4, packets_received: 4000, packets_lost: 10 })).toEqual({ rttMs: 45, packetsReceived: 4000, packetsLost: 10 });
    expect(bridgeSample({ rtt_ms: null, packets_received: 0, packets_lost: -3 })).toEqual({ rttMs: null, packetsReceived: 0, packetsLost: 0 });
    expect(bridgeSample({ rtt_ms: Number.NaN, packets_received: Number.POSITIVE_INFINITY, packets_lost: 1 })).toEqual({ rttMs: null, packetsReceived: 0, packetsLost: 1 });
  });
  it('two of them give a reading', () => {
    const before = bridgeSample({ rtt_ms: 30, packets_received: 1000, packets_lost: 0 });
    expect(qualityOf(before, bridgeSample({ rtt_ms: 30, packets_received: 1900, packets_lost: 100 }))?.quality).toBe('poor');
    expect(qualityOf(before, bridgeSample({ rtt_ms: 30, packets_received: 2000, packets_lost: 1 }))?.quality).toBe('good');
  });
});

describe('qualityOf', () => {
  const at = (rttMs: number | null, packetsReceived: number, packetsLost: number) => ({ rttMs, packetsReceived, packetsLost });
  it('is good with a short round trip and next to no loss', () => {
    expect(qualityOf(null, at(40, 1000, 1))).toEqual({ quality: 'good', rttMs: 40, lossPct: 0.0999000999000999 });
  });
  it('is fair in between', () => {
    expect(qualityOf(null, at(250, 1000, 0))?.quality).toBe('fair');
    expect(qualityOf(null, at(50, 960, 40))?.quality).toBe('fair');
  });
  it('is poor with a long round trip or much loss', () => {
    expect(qualityOf(null, at(450, 1000, 0))?.quality).toBe('poor');
    expect(qualityOf(null, at(30, 900, 100))?.quality).toBe('poor');
  });
  it('counts only the loss since the last sample', () => {
    const before = at(30, 1000, 200);
    expect(qualityOf(before, at(30, 2000, 200))?.quality).toBe('good');
    expect(qualityOf(before, at(30, 2000, 300))?.quality).toBe('poor');
  });
  it('is null until something is measured; loss alone or round trip alone is enough', () => {
    expect(qualityOf(null, at(null, 0, 0))).toBeNull();
    expect(qualityOf(at(null, 5, 0), at(null, 5, 0))).toBeNull();
    expect(qualityOf(null, at(null, 100, 0))?.quality).toBe('good');
    expect(qualityOf(null, at(500, 0, 0))?.quality).toBe('poor');
  });
});

describe('qualityText', () => {
  it('words and detail', () => {
    expect(qualityText({ quality: 'good', rttMs: 45, lossPct: 0.02 })).toEqual({ label: 'Good connection', detail: 'Good connection: round trip 45 ms, 0% packets lost' });
    expect(qualityText({ quality: 'poor', rttMs: null, lossPct: 12.34 })).toEqual({ label: 'Poor connection', detail: 'Poor connection: 12.3% packets lost' });
    expect(qualityText({ quality: 'fair', rttMs: null, lossPct: null }).detail).toBe('Fair connection');
  });
});
