/**
 * The call's sounds, made with WebAudio (no audio file to ship or load): the ring of an incoming
 * call, the ringback the caller hears while it rings there, and a short chime to try a speaker.
 * One tone at a time; silence closes the audio context, so the sound device is let go between
 * calls.
 */

export type Tone = 'ring' | 'ringback';

/** Notes sounding together, from `at` (seconds into the period) for `length` seconds. */
type Beep = { at: number; length: number; freqs: number[] };
type Pattern = { period: number; volume: number; beeps: Beep[] };

const PATTERNS: Record<Tone, Pattern> = {
  // Here: a rising two-note chime, twice, every 3 s (distinct from any system sound).
  ring: {
    period: 3,
    volume: 0.14,
    beeps: [
      { at: 0, length: 0.22, freqs: [659.3] },
      { at: 0.25, length: 0.34, freqs: [880] },
      { at: 0.8, length: 0.22, freqs: [659.3] },
      { at: 1.05, length: 0.34, freqs: [880] },
    ],
  },
  // There: the familiar ringback (440 + 480 Hz), 1.5 s on, 3 s off, quieter.
  ringback: { period: 4.5, volume: 0.07, beeps: [{ at: 0, length: 1.5, freqs: [440, 480] }] },
};

/** How far ahead beeps are scheduled: timers of a window in the background are slowed down. */
const AHEAD_S = 8;

function defaultContext(): AudioContext | null {
  const Ctx = typeof AudioContext === 'function' ? AudioContext : null;
  try {
    return Ctx === null ? null : new Ctx();
  } catch {
    return null;
  }
}

function beep(ctx: BaseAudioContext, out: AudioNode, start: number, b: Beep): void {
  const env = ctx.createGain();
  const level = 1 / b.freqs.length;
  const end = start + b.length;
  // Short ramps: no clicks at the edges.
  env.gain.setValueAtTime(0, start);
  env.gain.linearRampToValueAtTime(level, start + 0.015);
  env.gain.setValueAtTime(level, Math.max(start + 0.015, end - 0.04));
  env.gain.linearRampToValueAtTime(0, end);
  env.connect(out);
  for (const f of b.freqs) {
    const osc = ctx.createOscillator();
    osc.type = 'sine';
    osc.frequency.value = f;
    osc.connect(env);
    osc.start(start);
    osc.stop(end + 0.01);
  }
}

export class TonePlayer {
  private ctx: AudioContext | null = null;
  private out: GainNode | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private playing: Tone | null = null;

  constructor(private readonly newContext: () => AudioContext | null = defaultContext) {}

  /** The tone now (null: silence). */
  play(tone: Tone | null): void {
    if (tone === this.playing) return;
    this.silence();
    this.playing = tone;
    if (tone === null) {
      void this.ctx?.close().catch(() => undefined);
      this.ctx = null;
      return;
    }
    const ctx = this.context();
    if (ctx === null) return;
    const pattern = PATTERNS[tone];
    const out = ctx.createGain();
    out.gain.value = pattern.volume;
    out.connect(ctx.destination);
    this.out = out;
    let next = ctx.currentTime + 0.05;
    const schedule = () => {
      while (next < ctx.currentTime + AHEAD_S) {
        for (const b of pattern.beeps) beep(ctx, out, next + b.at, b);
        next += pattern.period;
      }
    };
    schedule();
    this.timer = setInterval(schedule, 1000);
  }

  /**
   * Called on a click (placing or answering a call): a context made or resumed then may play
   * later, where the webview's autoplay rules hold back one made without the person's doing.
   */
  prime(): void {
    // Kept (not closed) until the next tone is over.
    this.context();
  }

  private context(): AudioContext | null {
    this.ctx ??= this.newContext();
    if (this.ctx !== null && this.ctx.state === 'suspended') void this.ctx.resume().catch(() => undefined);
    return this.ctx;
  }

  private silence(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    // Beeps already scheduled go nowhere once their output is cut.
    this.out?.disconnect();
    this.out = null;
  }

  close(): void {
    this.play(null);
  }
}

/** A short chime on the speaker `sinkId` (`''`: the system's), to try it; resolves once it plays. */
export async function playTestSound(sinkId: string, newContext: () => AudioContext | null = defaultContext): Promise<void> {
  const ctx = newContext();
  if (ctx === null) throw new Error('no audio');
  const dest = ctx.createMediaStreamDestination();
  const out = ctx.createGain();
  out.gain.value = 0.2;
  out.connect(dest);
  const t = ctx.currentTime + 0.05;
  beep(ctx, out, t, { at: 0, length: 0.2, freqs: [659.3] });
  beep(ctx, out, t + 0.22, { at: 0, length: 0.35, freqs: [880] });
  // Through a media element: that is what can be sent to another speaker.
  const audio = new Audio();
  audio.srcObject = dest.stream;
  const element = audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
  try {
    if (sinkId !== '' && typeof element.setSinkId === 'function') await element.setSinkId(sinkId);
    await audio.play();
  } finally {
    setTimeout(() => {
      audio.srcObject = null;
      void ctx.close().catch(() => undefined);
    }, 900);
  }
}
