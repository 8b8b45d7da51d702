/**
 * The other side's picture in a bridged call: each video record is a VP8 frame, decoded by a
 * `VideoDecoder` and drawn onto a canvas (`view`), which the call screen shows in place of its
 * <video>. There is no track: WebKitGTK has no way to make one from frames but a canvas's
 * `captureStream()`, and playing that in a <video> cost each side about 0.2 CPU s per s
 * (another GStreamer pipeline, a copy of every frame, a second paint) for the same picture.
 *
 * A decoder can only start from a key frame: before the first one, after a frame failed to
 * decode, and after frames were dropped (the decoder fell behind), delta frames are skipped
 * until a key frame comes (the other side sends one every 2 s, or Rust asks for one). Nothing a
 * peer sends ends the call.
 */
import { isVp8KeyFrame } from './frames';
import type { MediaRecord } from './records';

/** The largest picture drawn: a peer can't make the page allocate a giant canvas. */
const MAX_WIDTH = 1920;
const MAX_HEIGHT = 1080;
/** Frames waiting to be decoded beyond this: the decoder is behind, and starts again at a key frame. */
const MAX_QUEUE = 8;

export class VideoReceiver {
  /** What the call screen shows: black until the first frame is decoded. */
  readonly view: HTMLCanvasElement;
  private readonly draw: CanvasRenderingContext2D | null;
  private decoder: VideoDecoder | null = null;
  private needKey = true;
  private closed = false;

  constructor() {
    this.view = document.createElement('canvas');
    this.view.width = 640;
    this.view.height = 480;
    this.draw = this.view.getContext('2d', { alpha: false });
  }

  /** A video record from the other side (anything else is not for this). */
  receive(record: MediaRecord): void {
    if (this.closed || record.kind !== 'video') return;
    // The frame's own header decides, whatever the record's flag says.
    const key = isVp8KeyFrame(record.payload);
    if (this.needKey && !key) return;
    const decoder = this.decoderNow();
    if (decoder === null) return;
    if (decoder.decodeQueueSize > MAX_QUEUE && !key) {
      this.needKey = true;
      return;
    }
    try {
      decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: record.timeUs, data: record.payload }));
      this.needKey = false;
    } catch {
      this.broke(decoder);
    }
  }

  close(): void {
    this.closed = true;
    if (this.decoder !== null && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
  }

  private decoderNow(): VideoDecoder | null {
    if (this.decoder !== null && this.decoder.state === 'configured') return this.decoder;
    try {
      const decoder = new VideoDecoder({
        output: (frame) => this.output(frame),
        error: () => this.broke(decoder),
      });
      decoder.configure({ codec: 'vp8', optimizeForLatency: true });
      this.decoder = decoder;
      return decoder;
    } catch {
      this.decoder = null;
      return null;
    }
  }

  /** A frame did not decode: the decoder (closed by it) is made anew, from the next key frame. */
  private broke(decoder: VideoDecoder): void {
    if (this.decoder !== decoder) return;
    this.decoder = null;
    this.needKey = true;
    if (decoder.state !== 'closed') decoder.close();
  }

  private output(frame: VideoFrame): void {
    try {
      if (this.closed || this.draw === null) return;
      const scale = Math.min(1, MAX_WIDTH / frame.displayWidth, MAX_HEIGHT / frame.displayHeight);
      const width = Math.max(1, Math.round(frame.displayWidth * scale));
      const height = Math.max(1, Math.round(frame.displayHeight * scale));
      if (this.view.width !== width || this.view.height !== height) {
        this.view.width = width;
        this.view.height = height;
      }
      this.draw.drawImage(frame, 0, 0, width, height);
    } catch {
      // A frame that can't be drawn: the next one may.
    } finally {
      frame.close();
    }
  }
}
