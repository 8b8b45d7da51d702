/**
 * The bridge's events (`MediaEvent`, the JSON of records of kind `event`), checked before the
 * call's connection acts on them. Rust writes them, but a signal in them carries what the other
 * side chose, and a page must not break on a field it did not expect: anything that is not one
 * of the events below is null, and is dropped. Fields added later are ignored. A `stats` event
 * carries the bitrate Rust's congestion control suggests for the camera (`bitrate_bps`; null
 * before the other side's first report and in audio calls). Pure.
 */
import { parseCallSignal } from '../../model/call-signal';
import type { MediaConnectionState, MediaEvent } from '../../types';

/** An event as the connection takes it. */
export type BridgeEvent = MediaEvent;

const STATES: ReadonlySet<string> = new Set<MediaConnectionState>(['connecting', 'connected', 'disconnected', 'failed', 'closed']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const optCount = (v: unknown): v is number | null | undefined => v === null || v === undefined || count(v);

/** An event's payload (UTF-8 JSON), checked; null when it is not one. */
export function parseMediaEvent(payload: Uint8Array): BridgeEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return null;
  }
  if (!isObject(raw)) return null;
  switch (raw.type) {
    case 'signal': {
      const signal = parseCallSignal(raw.signal);
      // Only the descriptions and candidates of our own connection: `start` is the core's word.
      if (signal === null || signal.kind === 'start') return null;
      return { type: 'signal', signal };
    }
    case 'state':
      return typeof raw.state === 'string' && STATES.has(raw.state) ? { type: 'state', state: raw.state as MediaConnectionState } : null;
    case 'keyframe':
      return { type: 'keyframe' };
    case 'microphone-stopped':
      return { type: 'microphone-stopped' };
    case 'speaker-stopped':
      return { type: 'speaker-stopped' };
    case 'stats': {
      const { rtt_ms: rtt, packets_received: received, packets_lost: lost, bitrate_bps: bitrate } = raw;
      if (!optCount(rtt) || !count(received)) return null;
      // Lost can go below zero where duplicates arrived (as in RTCP): nothing was lost then.
      if (typeof lost !== 'number' || !Number.isFinite(lost)) return null;
      // A bitrate that is not one is no suggestion; the statistics still count.
      const bitrateBps = count(bitrate) && bitrate > 0 ? bitrate : null;
      return { type: 'stats', rtt_ms: rtt ?? null, packets_received: received, packets_lost: Math.max(0, lost), bitrate_bps: bitrateBps };
    }
    default:
      return null;
  }
}
