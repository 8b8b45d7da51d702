import { describe, expect, it } from 'vitest';
import { JitterBuffer } from './jitter-buffer';

const RATE = 48_000;
const FRAME = 960; // 20 ms
const QUANTUM = 128;
const frameUs = (n: number) => n * 20_000;

/** A 20 ms packet of one constant value (which packet played where is then plain to see). */
const flat = (v: number) => new Float32Array(FRAME).fill(v);
/** A 20 ms packet of a 440 Hz sine, continuing across packets. */
const sine = (n: number) => Float32Array.from({ length: FRAME }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (n * FRAME + i)) / RATE));

/** `quanta` render quanta of output, one array. */
function play(jb: JitterBuffer, quanta: number): Float32Array {
  const out = new Float32Array(quanta * QUANTUM);
  for (let q = 0; q < quanta; q++) {
    const block = new Float32Array(QUANTUM);
    jb.pull(block);
    out.set(block, q * QUANTUM);
  }
  return out;
}
const quantaFor = (ms: number) => Math.round((ms * RATE) / 1000 / QUANTUM);
/** The largest step between neighbouring samples: a click is a big one. */
const maxStep = (a: Float32Array) => a.reduce((m, v, i) => (i === 0 ? 0 : Math.max(m, Math.abs(v - (a[i - 1] as number)))), 0);
/** The values of flat packets, in the order played (runs of 100 samples or more: not fades). */
const plateaus = (a: Float32Array) => {
  const seen: number[] = [];
  let run = 0;
  for (let i = 0; i < a.length; i++) {
    run = i > 0 && a[i] === a[i - 1] ? run + 1 : 1;
    const v = a[i] as number;
    if (run === 100 && v !== 0 && seen.at(-1) !== v) seen.push(v);
  }
  return seen;
};

describe('JitterBuffer', () => {
  it('is quiet until 60 ms are held, then plays the packets in order, fading in', () => {
    const jb = new JitterBuffer({ rate: RATE });
    jb.push(frameUs(0), flat(1));
    jb.push(frameUs(1), flat(2));
    expect(play(jb, 2).every((v) => v === 0)).toBe(true);
    expect(jb.isPlaying).toBe(false);
    jb.push(frameUs(2), flat(3));
    expect(jb.bufferedMs).toBe(60);
    const out = play(jb, quantaFor(60));
    expect(jb.isPlaying).toBe(true);
    expect(out[0]).toBe(0);
    expect(plateaus(out)).toEqual([1, 2, 3]);
    // The fade-in is short: 5 ms.
    expect(out[240]).toBe(1);
  });

  it('puts packets that came out of order back in order', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (const n of [0, 2, 1, 4, 3]) jb.push(frameUs(n), flat(n + 1));
    expect(plateaus(play(jb, quantaFor(100)))).toEqual([1, 2, 3, 4, 5]);
  });

  it('drops a packet that came twice, or after its time was played', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (const n of [0, 1, 2]) jb.push(frameUs(n), flat(n + 1));
    jb.push(frameUs(1), flat(6));
    expect(jb.counts.duplicates).toBe(1);
    expect(plateaus(play(jb, quantaFor(40)))).toEqual([1, 2]);
    jb.push(frameUs(0), flat(6));
    expect(jb.counts.late).toBe(1);
    jb.push(frameUs(3), flat(4));
    expect(plateaus(play(jb, quantaFor(40)))).toEqual([3, 4]);
  });

  it('bridges a lost packet without a click: the last sound backwards, fading out, then the next fading in', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (let n = 0; n < 10; n++) if (n !== 5) jb.push(frameUs(n), sine(n));
    const out = play(jb, quantaFor(180));
    const sineStep = 0.5 * ((2 * Math.PI * 440) / RATE);
    expect(maxStep(out)).toBeLessThan(2 * sineStep);
    expect(jb.counts.concealed).toBe(FRAME);
    // Packet 5's time: the concealment fades to nothing within 20 ms.
    const lost = out.subarray(5 * FRAME + 10, 6 * FRAME - 10);
    expect(Math.max(...lost.map(Math.abs))).toBeLessThan(0.5);
    expect(Math.abs(lost.at(-1) as number)).toBeLessThan(0.02);
    // Packets 6 and on play as they were (after the fade-in).
    expect(out[6 * FRAME + 300]).toBeCloseTo(sine(6)[300] as number, 6);
  });

  it('runs dry without a click, goes quiet, and waits for 60 ms again', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (let n = 0; n < 3; n++) jb.push(frameUs(n), sine(n));
    const out = play(jb, quantaFor(120));
    expect(maxStep(out)).toBeLessThan(0.1);
    expect(jb.isPlaying).toBe(false);
    expect(jb.counts.underruns).toBe(1);
    expect(out.at(-1)).toBe(0);
    // The sender goes on after a pause (its clock moved on); playing starts again once 60 ms are held.
    jb.push(frameUs(50), flat(4));
    jb.push(frameUs(51), flat(5));
    expect(play(jb, 4).every((v) => v === 0)).toBe(true);
    jb.push(frameUs(52), flat(6));
    expect(plateaus(play(jb, quantaFor(60)))).toEqual([4, 5, 6]);
  });

  it('a burst after a stall is cut down to 60 ms: the oldest goes', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (let n = 0; n < 3; n++) jb.push(frameUs(n), flat(1));
    play(jb, 2);
    for (let n = 3; n < 30; n++) jb.push(frameUs(n), flat(n < 27 ? 2 : 3));
    expect(jb.bufferedMs).toBeLessThanOrEqual(200);
    expect(jb.bufferedMs).toBeGreaterThanOrEqual(55);
    expect(jb.counts.dropped).toBeGreaterThan(15);
    const out = play(jb, quantaFor(200));
    expect(plateaus(out)).toEqual([2, 3]);
    // What plays after the cut: at most 200 ms, the last 60 ms of it the newest packets.
    expect(out.filter((v) => v === 3).length - 3 * FRAME).toBeLessThanOrEqual(1);
    expect(out.filter((v) => v === 2).length).toBeLessThanOrEqual(7 * FRAME);
    // The cut blends from what played into the newer packets (the step from 2 to 3 is the packets' own).
    expect(maxStep(out.subarray(0, out.indexOf(3)))).toBeLessThan(0.05);
  });

  it('comes down from a cushion it did not need for a second: to about 20 ms, without a click', () => {
    const jb = new JitterBuffer({ rate: RATE });
    // A burst at the start: 160 ms held, then one packet per 20 ms played, steadily.
    let n = 0;
    for (; n < 8; n++) jb.push(frameUs(n), sine(n));
    const out: number[] = [];
    const held: number[] = [];
    for (let ms = 0; ms < 3000; ms += 20) {
      // Exactly one packet's worth played per packet pushed (whole quanta would drift).
      const block = new Float32Array(FRAME);
      jb.pull(block);
      out.push(...block);
      jb.push(frameUs(n), sine(n));
      n++;
      held.push(jb.bufferedMs);
    }
    // The first second keeps the cushion; after it, the excess is cut once and stays cut.
    expect(Math.min(...held.slice(0, 45))).toBeGreaterThan(120);
    expect(Math.max(...held.slice(60))).toBeLessThanOrEqual(60);
    expect(jb.counts.trimmed).toBe(1);
    expect(jb.counts.underruns).toBe(0);
    expect(maxStep(Float32Array.from(out))).toBeLessThan(0.1);
  });

  it('keeps a cushion it needed: packets that come in bursts are not trimmed into gaps', () => {
    const jb = new JitterBuffer({ rate: RATE });
    let n = 0;
    for (; n < 3; n++) jb.push(frameUs(n), sine(n));
    // Three packets every 60 ms: what is held swings from 60 ms down to nothing.
    for (let ms = 0; ms < 3000; ms += 60) {
      jb.pull(new Float32Array(3 * FRAME));
      for (let k = 0; k < 3; k++, n++) jb.push(frameUs(n), sine(n));
    }
    expect(jb.counts.trimmed).toBe(0);
    expect(jb.counts.underruns).toBe(0);
  });

  it('starts over when the sender’s clock jumps, fading out what played', () => {
    const jb = new JitterBuffer({ rate: RATE });
    for (let n = 0; n < 4; n++) jb.push(frameUs(n), flat(1));
    play(jb, quantaFor(20));
    jb.push(frameUs(1000), flat(2));
    const out = play(jb, 8);
    expect(jb.isPlaying).toBe(false);
    expect(maxStep(out)).toBeLessThan(0.01);
    for (let n = 1001; n < 1003; n++) jb.push(frameUs(n), flat(2));
    expect(plateaus(play(jb, quantaFor(60)))).toEqual([2]);
  });

  it('ignores packets that are no sound: empty, or without a time', () => {
    const jb = new JitterBuffer({ rate: RATE });
    jb.push(Number.NaN, flat(1));
    jb.push(0, new Float32Array(0));
    expect(jb.bufferedMs).toBe(0);
  });
});
