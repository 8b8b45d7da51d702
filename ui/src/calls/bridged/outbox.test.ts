import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox';
import { decodeRecords, type MediaRecord } from './records';

const rec = (kind: 'video' | 'audio', n: number, size = 1): MediaRecord => ({ kind, key: false, timeUs: n, durationUs: 0, payload: new Uint8Array(size) });
const tick = () => new Promise((r) => setTimeout(r, 0));

function outbox(maxBytes?: number) {
  const sent: number[][] = [];
  const failures: boolean[] = [];
  let release: (() => void)[] = [];
  let fail = false;
  const box = new Outbox({
    send: (bytes) => {
      sent.push(decodeRecords(bytes).records.map((r) => r.timeUs));
      return new Promise<void>((resolve, reject) => release.push(() => (fail ? reject(new Error('no')) : resolve())));
    },
    failed: (_e, video) => failures.push(video),
    maxBytes,
  });
  const releaseAll = async () => {
    const r = release;
    release = [];
    for (const f of r) f();
    await tick();
  };
  return { box, sent, failures, releaseAll, failNext: (v: boolean) => (fail = v) };
}

describe('Outbox', () => {
  it('sends at once, then batches what comes during a send, in order; one send at a time', async () => {
    const o = outbox();
    o.box.push(rec('audio', 1));
    o.box.push(rec('video', 2));
    o.box.push(rec('audio', 3));
    expect(o.sent).toEqual([[1]]);
    await o.releaseAll();
    expect(o.sent).toEqual([[1], [2, 3]]);
    await o.releaseAll();
    expect(o.sent).toHaveLength(2);
  });

  it('refuses records past the bound while a send is under way (a first one always goes)', async () => {
    const o = outbox(10);
    expect(o.box.push(rec('video', 1, 50))).toBe(true);
    expect(o.box.push(rec('video', 2, 6))).toBe(true);
    expect(o.box.push(rec('video', 3, 6))).toBe(false);
    expect(o.box.waitingBytes).toBe(6);
    await o.releaseAll();
    expect(o.sent).toEqual([[1], [2]]);
  });

  it('says when a send failed and whether video was in it; goes on with the next', async () => {
    const o = outbox();
    o.failNext(true);
    o.box.push(rec('audio', 1));
    await o.releaseAll();
    o.box.push(rec('video', 2));
    await o.releaseAll();
    o.failNext(false);
    o.box.push(rec('audio', 3));
    await o.releaseAll();
    expect(o.failures).toEqual([false, true]);
    expect(o.sent).toEqual([[1], [2], [3]]);
  });

  it('takes nothing once closed, and is quiet about a send that fails after', async () => {
    const o = outbox();
    o.failNext(true);
    o.box.push(rec('audio', 1));
    o.box.push(rec('audio', 2));
    o.box.close();
    await o.releaseAll();
    expect(o.box.push(rec('audio', 3))).toBe(false);
    expect(o.sent).toEqual([[1]]);
    expect(o.failures).toEqual([]);
  });
});
