/**
 * The other side's sound in a bridged call: each audio record is an Opus packet, decoded by an
 * `AudioDecoder` and handed to the playback worklet (its jitter buffer puts packets in order and
 * keeps time), whose output plays through the call's audio context itself. Not through a
 * `MediaStreamAudioDestinationNode` and the call screen's <audio>, as with the webview's WebRTC:
 * in WebKitGTK that path is a GStreamer pipeline more per call, and with it the sound between
 * two Linux apps came 126–153 ms late at the 95th percentile, without it 62–78 ms
 * (docs/call-media-bridge.md); the <audio> offered nothing more there (WebKitGTK has no
 * `setSinkId`).
 *
 * A packet that does not decode is dropped (the decoder, broken by it, is made anew for the
 * next); nothing a peer sends ends the call.
 */
import type { CallAudio } from './audio-context';
import { downmixInterleaved, resample, s16ToFloat } from './pcm';
import type { MediaRecord } from './records';
import { PLAYBACK_PROCESSOR, type PlaybackChunk } from './worklet-scope';

const OPUS_RATE = 48_000;
/** Packets waiting to be decoded beyond this are a stall: the newer ones are dropped. */
const MAX_QUEUE = 20;

/** One channel of `data` as floats (webviews differ in the formats `copyTo` converts to). */
function monoSamples(data: AudioData): Float32Array {
  const frames = data.numberOfFrames;
  try {
    const out = new Float32Array(frames);
    data.copyTo(out, { planeIndex: 0, format: 'f32-planar' });
    return out;
  } catch {
    const format = data.format;
    const channels = data.numberOfChannels;
    if (format === 'f32') {
      const all = new Float32Array(frames * channels);
      data.copyTo(all, { planeIndex: 0 });
      return downmixInterleaved(all, channels);
    }
    if (format === 's16') {
      const all = new Int16Array(frames * channels);
      data.copyTo(all, { planeIndex: 0 });
      return downmixInterleaved(s16ToFloat(all), channels);
    }
    if (format === 's16-planar') {
      const plane = new Int16Array(frames);
      data.copyTo(plane, { planeIndex: 0 });
      return s16ToFloat(plane);
    }
    throw new Error(`unexpected sample format ${String(format)}`);
  }
}

export class AudioReceiver {
  private node: AudioWorkletNode | null = null;
  private decoder: AudioDecoder | null = null;
  private closed = false;

  constructor(private readonly audio: CallAudio) {
    audio.ready.then(
      () => this.makeNode(),
      () => undefined,
    );
  }

  /** An audio record from the other side (anything else is not for this). */
  receive(record: MediaRecord): void {
    if (this.closed || record.kind !== 'audio' || record.payload.byteLength === 0 || this.node === null) return;
    const decoder = this.decoderNow();
    if (decoder === null || decoder.decodeQueueSize > MAX_QUEUE) return;
    try {
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: record.timeUs, data: record.payload }));
    } catch {
      this.decoder = null;
    }
  }

  close(): void {
    this.closed = true;
    if (this.decoder !== null && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
    this.node?.disconnect();
  }

  private makeNode(): void {
    if (this.closed) return;
    const node = new AudioWorkletNode(this.audio.context, PLAYBACK_PROCESSOR, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
    node.connect(this.audio.context.destination);
    this.node = node;
  }

  private decoderNow(): AudioDecoder | null {
    if (this.decoder !== null && this.decoder.state === 'configured') return this.decoder;
    try {
      const decoder = new AudioDecoder({
        output: (data) => this.output(data),
        error: () => {
          if (this.decoder === decoder) this.decoder = null;
        },
      });
      decoder.configure({ codec: 'opus', sampleRate: OPUS_RATE, numberOfChannels: 1 });
      this.decoder = decoder;
      return decoder;
    } catch {
      this.decoder = null;
      return null;
    }
  }

  private output(data: AudioData): void {
    try {
      if (this.closed || this.node === null) return;
      const pcm = resample(monoSamples(data), data.sampleRate, this.audio.context.sampleRate);
      const chunk: PlaybackChunk = { timeUs: data.timestamp, pcm };
      this.node.port.postMessage(chunk, [pcm.buffer]);
    } catch {
      // A packet that decoded into something unplayable: dropped.
    } finally {
      data.close();
    }
  }
}
