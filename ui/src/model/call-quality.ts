/**
 * A call's connection quality from its connection's statistics: the round-trip time of the
 * candidate pair in use and the share of incoming packets lost since the last sample → good,
 * fair or poor. Two sources make the same sample: WebRTC's reports (`RTCPeerConnection.getStats()`,
 * as plain objects) and the media bridge's `stats` events (docs/call-media-bridge.md). Pure.
 */

export type Quality = 'good' | 'fair' | 'poor';

/** What one `getStats()` says that matters here. */
export type StatsSample = {
  /** Round-trip time in ms of the pair in use (null: not measured yet). */
  rttMs: number | null;
  /** Totals over all incoming streams since the call started. */
  packetsReceived: number;
  packetsLost: number;
};

export type QualityReading = { quality: Quality; rttMs: number | null; lossPct: number | null };

/** Thresholds people notice: above 300 ms delay talk overlaps; a few % loss smears sound and picture. */
const GOOD_RTT_MS = 200;
const POOR_RTT_MS = 400;
const GOOD_LOSS_PCT = 2;
const POOR_LOSS_PCT = 8;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The sample in a stats report's entries: the round trip of the transport's selected pair (or a
 * nominated, succeeded one), else of the other side's reports; incoming packets summed.
 */
export function sampleStats(reports: Iterable<Record<string, unknown>>): StatsSample {
  const all = [...reports];
  const byId = new Map(all.map((r) => [String(r.id), r]));
  const selectedIds = all.filter((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string').map((r) => r.selectedCandidatePairId as string);
  const pair =
    selectedIds.map((id) => byId.get(id)).find((r) => r !== undefined) ??
    all.find((r) => r.type === 'candidate-pair' && r.state === 'succeeded' && r.nominated === true);
  let rtt = num(pair?.currentRoundTripTime);
  if (rtt === null) {
    const remote = all.filter((r) => r.type === 'remote-inbound-rtp').map((r) => num(r.roundTripTime)).filter((v): v is number => v !== null);
    rtt = remote.length > 0 ? Math.max(...remote) : null;
  }
  let packetsReceived = 0;
  let packetsLost = 0;
  for (const r of all) {
    if (r.type !== 'inbound-rtp') continue;
    packetsReceived += num(r.packetsReceived) ?? 0;
    // Duplicates can make it negative: nothing lost then.
    packetsLost += Math.max(0, num(r.packetsLost) ?? 0);
  }
  return { rttMs: rtt === null ? null : Math.round(rtt * 1000), packetsReceived, packetsLost };
}

/** What the media bridge's `stats` event says (totals since the connection began, as WebRTC counts them). */
export type BridgeStats = { rtt_ms: number | null; packets_received: number; packets_lost: number };

/** The sample in a `stats` event of the media bridge. */
export function bridgeSample(stats: BridgeStats): StatsSample {
  const count = (v: number) => (Number.isFinite(v) ? Math.max(0, v) : 0);
  const rtt = num(stats.rtt_ms);
  return { rttMs: rtt === null || rtt < 0 ? null : Math.round(rtt), packetsReceived: count(stats.packets_received), packetsLost: count(stats.packets_lost) };
}

/**
 * The quality between two samples (loss counts only what happened in between, so an early burst
 * does not stay on the screen); null while nothing is measured yet.
 */
export function qualityOf(prev: StatsSample | null, next: StatsSample): QualityReading | null {
  const lost = next.packetsLost - (prev?.packetsLost ?? 0);
  const received = next.packetsReceived - (prev?.packetsReceived ?? 0);
  const total = lost + received;
  const lossPct = total > 0 && lost >= 0 ? (lost / total) * 100 : null;
  const rtt = next.rttMs;
  if (rtt === null && lossPct === null) return null;
  const poor = (rtt !== null && rtt >= POOR_RTT_MS) || (lossPct !== null && lossPct >= POOR_LOSS_PCT);
  const good = (rtt === null || rtt < GOOD_RTT_MS) && (lossPct === null || lossPct < GOOD_LOSS_PCT);
  return { quality: poor ? 'poor' : good ? 'good' : 'fair', rttMs: rtt, lossPct };
}

/** The indicator's words and its detail (the tooltip). */
export function qualityText(r: QualityReading): { label: string; detail: string } {
  const label = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection' }[r.quality];
  const parts: string[] = [];
  if (r.rttMs !== null) parts.push(`round trip ${r.rttMs} ms`);
  if (r.lossPct !== null) parts.push(`${r.lossPct < 0.1 ? '0' : r.lossPct.toFixed(1)}% packets lost`);
  const detail = parts.join(', ');
  return { label, detail: detail === '' ? label : `${label}: ${detail}` };
}
