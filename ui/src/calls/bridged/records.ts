/**
 * The records of the call media bridge (docs/call-media-bridge.md): what the page hands Rust with
 * `media_send` (its encoded frames) and what `media_receive` answers (the other side's frames,
 * and events). Little-endian, one after another, each a 20-byte header and its payload. Pure.
 *
 * What arrives was shaped by the other side (a peer chose the frames), so decoding never throws:
 * a record of a kind this page does not know is skipped, and a buffer that stops making sense (cut
 * short, a length beyond the bounds) gives the records before that point and says why.
 */
export type RecordKind = 'video' | 'audio' | 'event';

export type MediaRecord = {
  kind: RecordKind;
  /** A video key frame (flags bit 0). */
  key: boolean;
  /** On the way in, the capture time in µs; on the way out, the sender's media clock in µs. */
  timeUs: number;
  /** On the way in, µs until the next frame; 0 on the way out. */
  durationUs: number;
  payload: Uint8Array;
};

export const HEADER_BYTES = 20;
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
const MAX_DURATION_US = 0xffff_ffff;

const CODES: Record<RecordKind, number> = { video: 1, audio: 2, event: 3 };
const KINDS: Record<number, RecordKind | undefined> = { 1: 'video', 2: 'audio', 3: 'event' };
const KEY_FLAG = 1;

/** A time as the header's unsigned 64-bit field holds it (a negative or broken one as 0). */
function timeField(us: number): bigint {
  return Number.isFinite(us) && us > 0 ? BigInt(Math.round(us)) : 0n;
}

/** The records as one buffer; a payload over the bound is a bug of the caller's, and throws. */
export function encodeRecords(records: readonly MediaRecord[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const r of records) {
    if (r.payload.byteLength > MAX_PAYLOAD_BYTES) throw new RangeError(`a ${r.kind} record of ${r.payload.byteLength} bytes is over the bound`);
    size += HEADER_BYTES + r.payload.byteLength;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    view.setUint8(at, CODES[r.kind]);
    view.setUint8(at + 1, r.key ? KEY_FLAG : 0);
    view.setUint16(at + 2, 0, true);
    view.setUint32(at + 4, r.payload.byteLength, true);
    view.setBigUint64(at + 8, timeField(r.timeUs), true);
    const duration = Number.isFinite(r.durationUs) ? Math.min(MAX_DURATION_US, Math.max(0, Math.round(r.durationUs))) : 0;
    view.setUint32(at + 16, duration, true);
    out.set(r.payload, at + HEADER_BYTES);
    at += HEADER_BYTES + r.payload.byteLength;
  }
  return out;
}

export type Decoded = {
  records: MediaRecord[];
  /** Records of a kind this page does not know, left out. */
  skipped: number;
  /** Why the rest of the buffer was not read (null: all of it was). */
  error: string | null;
};

/** The records in `bytes`; payloads are views into it, not copies. */
export function decodeRecords(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: MediaRecord[] = [];
  let skipped = 0;
  let at = 0;
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < HEADER_BYTES) return { records, skipped, error: `a record header cut short at byte ${at}` };
    const length = view.getUint32(at + 4, true);
    if (length > MAX_PAYLOAD_BYTES) return { records, skipped, error: `a record of ${length} bytes at byte ${at}, over the bound` };
    const end = at + HEADER_BYTES + length;
    if (end > bytes.byteLength) return { records, skipped, error: `a record cut short at byte ${at}` };
    const kind = KINDS[view.getUint8(at)];
    if (kind === undefined) skipped++;
    else {
      records.push({
        kind,
        key: (view.getUint8(at + 1) & KEY_FLAG) !== 0,
        timeUs: Number(view.getBigUint64(at + 8, true)),
        durationUs: view.getUint32(at + 16, true),
        payload: bytes.subarray(at + HEADER_BYTES, end),
      });
    }
    at = end;
  }
  return { records, skipped, error: null };
}
