/**
 * The microphone of a bridged call: its sound goes through the capture worklet (20 ms chunks,
 * timed by the audio clock) into an Opus `AudioEncoder` (48 kHz, mono, 20 ms packets, in-band
 * FEC), and each packet out as an audio record. Muted (the track disabled), nothing is encoded
 * or sent. Another microphone (`setTrack`) goes into the same worklet and encoder.
 */
import type { CallAudio } from './audio-context';
import type { MediaRecord } from './records';
import { CAPTURE_PROCESSOR, type CaptureChunk } from './worklet-scope';

const BITRATE = 32_000;
const FRAME_US = 20_000;
/** Packets waiting in the encoder beyond this are a stall: chunks are dropped until it catches up. */
const MAX_QUEUE = 10;
/** Encoders that broke one after the other before this one gives up (the webview can't encode Opus). */
const MAX_FAILURES = 5;

export class AudioSender {
  private track: MediaStreamTrack | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private node: AudioWorkletNode | null = null;
  private encoder: AudioEncoder | null = null;
  private rate = 0;
  /** Added to the audio clock's µs to make capture times of the page's clock (`performance.now`). */
  private offsetUs: number | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly audio: CallAudio,
    private readonly send: (record: MediaRecord) => void,
  ) {
    audio.ready.then(
      () => this.makeNode(),
      () => undefined,
    );
  }

  /** The microphone to send (null: none). */
  setTrack(track: MediaStreamTrack | null): void {
    this.track = track;
    this.connectSource();
  }

  close(): void {
    this.closed = true;
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node !== null) this.node.port.onmessage = null;
    if (this.encoder !== null && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
  }

  private makeNode(): void {
    if (this.closed) return;
    const node = new AudioWorkletNode(this.audio.context, CAPTURE_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
    });
    node.port.onmessage = ({ data }: MessageEvent) => this.chunk(data as CaptureChunk);
    node.connect(this.audio.sink);
    this.node = node;
    this.connectSource();
  }

  private connectSource(): void {
    this.source?.disconnect();
    this.source = null;
    if (this.closed || this.node === null || this.track === null) return;
    // Taken afresh: the audio clock stood still while the context rested (the app captured).
    this.offsetUs = null;
    this.source = this.audio.context.createMediaStreamSource(new MediaStream([this.track]));
    this.source.connect(this.node);
  }

  private chunk(c: CaptureChunk): void {
    const track = this.track;
    if (this.closed || track === null || !track.enabled || track.readyState !== 'live') return;
    const encoder = this.encoderFor(c.rate);
    if (encoder === null || encoder.encodeQueueSize > MAX_QUEUE) return;
    const clockUs = (c.frame / c.rate) * 1e6;
    this.offsetUs ??= performance.now() * 1000 - clockUs;
    const data = new AudioData({
      format: 'f32-planar',
      sampleRate: c.rate,
      numberOfFrames: c.pcm.length,
      numberOfChannels: 1,
      timestamp: Math.round(clockUs + this.offsetUs),
      data: c.pcm,
    });
    try {
      encoder.encode(data);
    } catch {
      // The encoder broke (its error callback follows): a new one takes the next chunk.
      this.encoder = null;
    } finally {
      data.close();
    }
  }

  private encoderFor(rate: number): AudioEncoder | null {
    if (this.encoder !== null && this.encoder.state === 'configured' && this.rate === rate) return this.encoder;
    if (this.encoder !== null && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
    if (this.failures >= MAX_FAILURES) return null;
    this.failures++;
    try {
      const encoder = new AudioEncoder({
        output: (chunk) => this.output(chunk),
        error: () => {
          if (this.encoder === encoder) this.encoder = null;
        },
      });
      encoder.configure({ codec: 'opus', sampleRate: rate, numberOfChannels: 1, bitrate: BITRATE, opus: { frameDuration: FRAME_US, useinbandfec: true } });
      this.encoder = encoder;
      this.rate = rate;
      return encoder;
    } catch {
      return null;
    }
  }

  private output(chunk: EncodedAudioChunk): void {
    if (this.closed) return;
    this.failures = 0;
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    this.send({ kind: 'audio', key: false, timeUs: chunk.timestamp, durationUs: chunk.duration ?? FRAME_US, payload });
  }
}
