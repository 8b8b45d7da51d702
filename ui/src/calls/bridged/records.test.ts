import { describe, expect, it } from 'vitest';
import { decodeRecords, encodeRecords, HEADER_BYTES, MAX_PAYLOAD_BYTES, type MediaRecord } from './records';

const bytes = (...v: number[]) => Uint8Array.from(v);
const record = (change: Partial<MediaRecord> = {}): MediaRecord => ({ kind: 'video', key: false, timeUs: 0, durationUs: 0, payload: bytes(), ...change });
/** A record's header as the contract lays it out, by hand. */
function header(kind: number, flags: number, length: number, time: bigint, duration: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint8(1, flags);
  view.setUint32(4, length, true);
  view.setBigUint64(8, time, true);
  view.setUint32(16, duration, true);
  return out;
}
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const plain = (records: MediaRecord[]) => records.map((r) => ({ ...r, payload: [...r.payload] }));

describe('encodeRecords', () => {
  it('lays out each record as the contract says: kind, flags, reserved, length, time and duration, little-endian', () => {
    const out = encodeRecords([record({ kind: 'video', key: true, timeUs: 0x1_0000_0002, durationUs: 33_333, payload: bytes(9, 8, 7) })]);
    expect([...out]).toEqual([...header(1, 1, 3, 0x1_0000_0002n, 33_333), 9, 8, 7]);
  });

  it('keeps a time that is not a whole, positive number of µs within the field', () => {
    const [a, b] = decodeRecords(encodeRecords([record({ timeUs: -5, durationUs: -1 }), record({ timeUs: 12.6, durationUs: Number.NaN })])).records;
    expect([a?.timeUs, a?.durationUs, b?.timeUs, b?.durationUs]).toEqual([0, 0, 13, 0]);
  });

  it('refuses a payload over 4 MiB', () => {
    expect(() => encodeRecords([record({ payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) })])).toThrow(RangeError);
  });
});

describe('decodeRecords', () => {
  it('round-trips several records of every kind in one buffer', () => {
    const records = [
      record({ kind: 'video', key: true, timeUs: 1_000, durationUs: 33_333, payload: bytes(1, 2, 3) }),
      record({ kind: 'audio', timeUs: 20_000, durationUs: 20_000, payload: bytes(4) }),
      record({ kind: 'event', timeUs: 0, payload: new TextEncoder().encode('{"type":"keyframe"}') }),
      record({ kind: 'video', timeUs: 2 ** 40, payload: bytes() }),
    ];
    const decoded = decodeRecords(encodeRecords(records));
    expect(decoded.error).toBeNull();
    expect(decoded.skipped).toBe(0);
    expect(plain(decoded.records)).toEqual(plain(records));
  });

  it('reads records at an offset inside a larger buffer', () => {
    const inner = encodeRecords([record({ kind: 'audio', payload: bytes(5, 6) })]);
    const outer = join(bytes(0xff, 0xff), inner);
    expect(plain(decodeRecords(outer.subarray(2)).records)).toEqual(plain([record({ kind: 'audio', payload: bytes(5, 6) })]));
  });

  it('an empty answer holds no records', () => {
    expect(decodeRecords(new Uint8Array(0))).toEqual({ records: [], skipped: 0, error: null });
  });

  it('skips a record of an unknown kind and reads on', () => {
    const buffer = join(header(7, 0, 2, 1n, 0), bytes(1, 2), encodeRecords([record({ kind: 'audio', payload: bytes(3) })]), header(0, 0, 0, 0n, 0));
    const decoded = decodeRecords(buffer);
    expect(decoded.skipped).toBe(2);
    expect(decoded.error).toBeNull();
    expect(plain(decoded.records)).toEqual(plain([record({ kind: 'audio', payload: bytes(3) })]));
  });

  it('a header or payload cut short gives the records before it, and says why', () => {
    const good = encodeRecords([record({ kind: 'audio', payload: bytes(1) })]);
    const shortHeader = decodeRecords(join(good, bytes(1, 0, 0)));
    expect(shortHeader.records).toHaveLength(1);
    expect(shortHeader.error).toMatch(/header cut short/);
    const shortPayload = decodeRecords(join(good, header(1, 0, 10, 0n, 0), bytes(1, 2)));
    expect(shortPayload.records).toHaveLength(1);
    expect(shortPayload.error).toMatch(/cut short/);
  });

  it('a length over the bound stops the reading, without allocating it', () => {
    const decoded = decodeRecords(join(header(1, 0, MAX_PAYLOAD_BYTES + 1, 0n, 0), bytes(1, 2, 3)));
    expect(decoded.records).toEqual([]);
    expect(decoded.error).toMatch(/over the bound/);
    expect(decodeRecords(header(1, 0, 0xffff_ffff, 0n, 0)).error).toMatch(/over the bound/);
  });

  it('reads the key flag from bit 0 alone, and ignores the reserved bytes', () => {
    const h = header(1, 0xfe, 0, 0n, 0);
    h[2] = 0x12;
    const [r] = decodeRecords(h).records;
    expect(r?.key).toBe(false);
    expect(decodeRecords(header(1, 0xff, 0, 0n, 0)).records[0]?.key).toBe(true);
  });

  it('never throws, whatever the bytes', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 500; n++) {
      const junk = Uint8Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256));
      // Small lengths now and then, so that some junk frames records.
      if (junk.length > 8 && rand() < 0.5) junk.set([rand() < 0.5 ? 1 : 3, 0, 0, 0, Math.floor(rand() * 40), 0, 0, 0], 0);
      expect(() => decodeRecords(junk)).not.toThrow();
    }
  });
});
