/**
 * The other side's sound between its arrival and the speaker: packets come in bursts, late, out
 * of order, twice or never, and the speaker takes a steady 128 samples at a time. The buffer
 * places each decoded packet by its timestamp (the sender's media clock), starts playing once
 * about 60 ms are there, and keeps the delay under about 200 ms by skipping ahead. It also
 * comes down from a cushion it does not need: when for a whole second the least it held was
 * more than about 20 ms, it skips ahead by the excess (once a second at most). Without that, a
 * burst early in a call set the delay for the rest of it: measured between two Linux apps, it
 * held 150 ms where 20–60 would have done.
 *
 * No clicks: a gap (a packet lost, or late) is bridged with the last 20 ms played backwards,
 * fading out (the wave goes on from the very sample where it stopped); sound after a gap, or
 * after skipping ahead, fades in over that concealment. When nothing is left at all, it goes
 * quiet and waits for 60 ms again, so a sender that paused (silence suppression, a network
 * hiccup) gets its cushion back.
 *
 * Pure, and free of the DOM: it runs inside the playback AudioWorklet, and in unit tests.
 */

export type JitterOptions = {
  /** Samples per second, of what is pushed and what is pulled. */
  rate: number;
  /** How much is held before playing starts. */
  targetMs?: number;
  /** Beyond this much held, the oldest is dropped down to `targetMs`. */
  maxMs?: number;
  /** How long a gap is bridged with the last sound fading out. */
  concealMs?: number;
  /** How long sound takes to fade in after a gap. */
  fadeMs?: number;
  /** The least a second of playing should have held: more than this is cut, once a second. */
  keepMs?: number;
};

export type JitterCounts = {
  /** Packets that came after their time had been played. */
  late: number;
  duplicates: number;
  /** Packets dropped to keep the delay down. */
  dropped: number;
  /** Times the delay was brought down to what the last second needed. */
  trimmed: number;
  /** Times playing stopped because nothing was left. */
  underruns: number;
  /** Samples played from concealment (or silence) while playing. */
  concealed: number;
};

type Chunk = { start: number; end: number; pcm: Float32Array };

/** A timestamp this far from where playing is can't be the same stream's: the sender's clock jumped. */
const JUMP_S = 1;
/** Packets held at most (a sender of tiny packets must not fill the memory). */
const MAX_CHUNKS = 256;

export class JitterBuffer {
  readonly counts: JitterCounts = { late: 0, duplicates: 0, dropped: 0, trimmed: 0, underruns: 0, concealed: 0 };
  private readonly rate: number;
  private readonly target: number;
  private readonly max: number;
  private readonly fade: number;
  private readonly jump: number;
  /** Sorted by start. */
  private chunks: Chunk[] = [];
  private playing = false;
  /** The sample (of the sender's clock) that plays next. */
  private cursor = 0;
  /** The last samples played, a ring (`historyAt`: the oldest). */
  private readonly history: Float32Array;
  private historyAt = 0;
  /** The concealment: the history when it began, newest first. */
  private readonly tail: Float32Array;
  /** How far into the concealment; its length or more: silent. */
  private concealPos: number;
  private gap = 0;
  private fadeLeft = 0;
  private readonly keep: number;
  /** The least held since `windowPlayed` was last 0 (samples), while playing. */
  private windowLeast = Infinity;
  private windowPlayed = 0;

  constructor(options: JitterOptions) {
    this.rate = options.rate;
    const samples = (ms: number) => Math.max(1, Math.round((this.rate * ms) / 1000));
    this.target = samples(options.targetMs ?? 60);
    this.max = Math.max(this.target, samples(options.maxMs ?? 200));
    this.fade = samples(options.fadeMs ?? 5);
    this.keep = samples(options.keepMs ?? 20);
    this.jump = Math.round(this.rate * JUMP_S);
    this.history = new Float32Array(samples(options.concealMs ?? 20));
    this.tail = new Float32Array(this.history.length);
    this.concealPos = this.tail.length;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  /** How much is held, in ms (from what plays next to the end of the latest packet). */
  get bufferedMs(): number {
    return (this.heldSamples() * 1000) / this.rate;
  }

  /** A decoded packet whose first sample was taken at `timeUs` (the sender's media clock). */
  push(timeUs: number, pcm: Float32Array): void {
    if (!Number.isFinite(timeUs) || pcm.length === 0) return;
    const start = Math.round((timeUs * this.rate) / 1e6);
    const end = start + pcm.length;
    const from = this.playing ? this.cursor : this.chunks[0]?.start;
    if (from !== undefined && Math.abs(start - from) > this.jump) this.restart();
    else if (this.playing && end <= this.cursor) {
      this.counts.late++;
      return;
    }
    let i = this.chunks.length;
    while (i > 0 && (this.chunks[i - 1] as Chunk).start > start) i--;
    if (i > 0 && (this.chunks[i - 1] as Chunk).start === start) {
      this.counts.duplicates++;
      return;
    }
    this.chunks.splice(i, 0, { start, end, pcm });
    if (this.chunks.length > MAX_CHUNKS) {
      this.chunks.shift();
      this.counts.dropped++;
    }
    this.keepDelayDown();
  }

  /** Fills `out` with what plays next (silence while there is nothing to play). */
  pull(out: Float32Array): void {
    const n = out.length;
    if (!this.playing && !this.startPlaying()) {
      // Quiet, once what was playing has faded out.
      for (let k = 0; k < n; k++) out[k] = this.conceal();
      return;
    }
    this.trimToNeed();
    let i = 0;
    while (i < n) {
      while (this.chunks.length > 0 && (this.chunks[0] as Chunk).end <= this.cursor) this.chunks.shift();
      const c = this.chunks[0];
      if (c !== undefined && c.start <= this.cursor) {
        if (this.gap > 0) {
          this.gap = 0;
          this.fadeLeft = this.fade;
        }
        const take = Math.min(c.end - this.cursor, n - i);
        const from = this.cursor - c.start;
        for (let k = 0; k < take; k++) out[i + k] = this.sound(c.pcm[from + k] as number);
        i += take;
        this.cursor += take;
        continue;
      }
      const take = Math.min(n - i, c === undefined ? n - i : c.start - this.cursor);
      if (this.gap === 0 && this.fadeLeft === 0) this.startConcealing();
      this.fadeLeft = 0;
      for (let k = 0; k < take; k++) out[i + k] = this.conceal();
      i += take;
      this.cursor += take;
      this.gap += take;
      this.counts.concealed += take;
      if (c === undefined && this.concealPos >= this.tail.length) {
        // Faded out with nothing to come: quiet until enough is held again.
        this.playing = false;
        this.counts.underruns++;
        out.fill(0, i);
        return;
      }
    }
    // The low point: what is left once this much has played.
    this.windowLeast = Math.min(this.windowLeast, this.heldSamples());
    this.windowPlayed += n;
  }

  private startPlaying(): boolean {
    const first = this.chunks[0];
    if (first === undefined || this.lastEnd() - first.start < this.target) return false;
    this.playing = true;
    this.cursor = first.start;
    this.windowLeast = Infinity;
    this.windowPlayed = 0;
    this.gap = 0;
    // Blended with what still fades out (nothing, after an underrun).
    this.fadeLeft = this.fade;
    return true;
  }

  /** One sample of the packets, blended in after a gap or a skip. */
  private sound(v: number): number {
    let out = v;
    if (this.fadeLeft > 0) {
      const w = 1 - this.fadeLeft / this.fade;
      this.fadeLeft--;
      out = v * w + this.conceal() * (1 - w);
    }
    this.history[this.historyAt] = out;
    this.historyAt = (this.historyAt + 1) % this.history.length;
    return out;
  }

  /**
   * From here on a gap is bridged with the last sound played backwards: the wave goes on from
   * the very sample where it stopped (no step), and fades out.
   */
  private startConcealing(): void {
    const len = this.history.length;
    for (let k = 0; k < len; k++) this.tail[k] = this.history[(this.historyAt - 1 - k + len) % len] as number;
    this.concealPos = 0;
  }

  /** The next sample of the concealment; silence once it faded out. */
  private conceal(): number {
    const len = this.tail.length;
    if (this.concealPos >= len) return 0;
    const v = (this.tail[this.concealPos] as number) * (1 - this.concealPos / len);
    this.concealPos++;
    return v;
  }

  /** Too much held (a burst after a stall): the oldest goes, down to the target. */
  private keepDelayDown(): void {
    if (this.heldSamples() <= this.max) return;
    this.skipTo(this.lastEnd() - this.target);
  }

  /**
   * Once a second of playing has gone by with more than `keep` held all along (at the low point
   * of every pull), skips ahead by the excess.
   */
  private trimToNeed(): void {
    if (this.windowPlayed < this.rate) return;
    const excess = this.windowLeast - this.keep;
    this.windowLeast = Infinity;
    this.windowPlayed = 0;
    if (excess < this.fade * 2) return;
    this.skipTo(this.cursor + excess);
    this.counts.trimmed++;
  }

  /** Drops what comes before `at`; when playing, goes on from there, blended in. */
  private skipTo(at: number): void {
    while (this.chunks.length > 0 && (this.chunks[0] as Chunk).end <= at) {
      this.chunks.shift();
      this.counts.dropped++;
    }
    if (this.playing) {
      this.cursor = at;
      // Blend from what was playing into the new place.
      if (this.fadeLeft === 0 && this.gap === 0) this.startConcealing();
      this.fadeLeft = this.fade;
      this.gap = 0;
    }
  }

  /** Starts over (the sender's clock jumped); what was playing fades out meanwhile. */
  private restart(): void {
    if (this.playing && this.fadeLeft === 0 && this.gap === 0) this.startConcealing();
    this.fadeLeft = 0;
    this.chunks = [];
    this.playing = false;
    this.gap = 0;
  }

  /** Samples held, from what plays next (the first packet's start before playing) to the latest end. */
  private heldSamples(): number {
    const first = this.chunks[0];
    if (first === undefined) return 0;
    return Math.max(0, this.lastEnd() - (this.playing ? this.cursor : first.start));
  }

  private lastEnd(): number {
    let end = -Infinity;
    for (const c of this.chunks) end = Math.max(end, c.end);
    return end;
  }
}
