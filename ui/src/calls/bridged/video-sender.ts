/**
 * The camera of a bridged call: its track plays in a <video> of its own (never shown), each new
 * frame is taken from it and encoded by a VP8 `VideoEncoder` in real-time mode, and each encoded
 * frame goes out as a video record. Sent at 640×480 at most, its shape kept: a bridged call asks
 * the camera for that size (`SENT_SIZE`, the engine does), and a frame still larger is scaled on
 * a canvas. (The track itself is not resized here: a camera without that size natively would
 * scale in software, and Chromium's fake MJPEG camera then sends blank frames.)
 *
 * WebKitGTK 2.50 fails to encode a `VideoFrame` made from a <video> as it is, and drawing one on
 * a canvas takes it 15–20 ms of the page's thread at 720p; copying the frame's pixels into a new
 * one takes about 1 ms at 640×480 and encodes everywhere, so that is what is done.
 *
 * Key frames: WebKitGTK's VP8 encoder makes none by itself, so one is asked for on the first
 * frame, every 2 s, when the other side lost the picture (`requestKeyFrame`), and after any
 * frame was lost on the way out. Frames are dropped while the encoder is behind (more than 2
 * waiting). Camera off (the track disabled) or no camera: nothing is encoded or sent. Another
 * camera (`setTrack`) plays in the same <video>, into the same encoder. That <video> (`view`)
 * is also what the call screen shows as the preview: a second <video> of the same camera cost
 * WebKitGTK a pipeline of its own (docs/call-media-bridge.md).
 */
import { watchVideoFrames } from '../../platform';
import { bitrateChanged, fitWithin, videoBitrate } from './frames';
import type { MediaRecord } from './records';

/** The largest picture sent, and what a bridged call asks the camera for. */
export const SENT_SIZE = { width: 640, height: 480 } as const;
const MAX_WIDTH = SENT_SIZE.width;
const MAX_HEIGHT = SENT_SIZE.height;
const FPS = 30;
const START_BPS = 1_000_000;
const KEY_EVERY_US = 2_000_000;
const MAX_QUEUE = 2;
const MAX_FAILURES = 5;

export class VideoSender {
  private track: MediaStreamTrack | null = null;
  /** The camera being sent, playing (the preview shows it). */
  readonly view: HTMLVideoElement;
  private readonly canvas: HTMLCanvasElement;
  private draw: CanvasRenderingContext2D | null = null;
  /** The pixels of the frame being copied, kept from one frame to the next. */
  private pixels = new Uint8Array(0);
  private stopWatching: (() => void) | null = null;
  private encoder: VideoEncoder | null = null;
  private size = { width: 0, height: 0 };
  private bitrate = START_BPS;
  private keyWanted = true;
  private lastKeyUs = -Infinity;
  private lastFrameUs: number | null = null;
  private failures = 0;
  /** A frame is being copied: the next tick waits for it. */
  private busy = false;
  private closed = false;

  constructor(private readonly send: (record: MediaRecord) => boolean) {
    this.view = document.createElement('video');
    this.view.muted = true;
    this.view.playsInline = true;
    this.view.autoplay = true;
    this.canvas = document.createElement('canvas');
  }

  /** The camera to send (null: none). */
  setTrack(track: MediaStreamTrack | null): void {
    if (this.closed || track === this.track) return;
    this.track = track;
    this.stopWatching?.();
    this.stopWatching = null;
    if (track === null) {
      this.view.srcObject = null;
      return;
    }
    this.view.srcObject = new MediaStream([track]);
    void this.view.play().catch(() => undefined);
    this.keyWanted = true;
    this.stopWatching = watchVideoFrames(this.view, FPS, () => this.frame());
  }

  /** The next frame goes as a key frame (the other side lost the picture). */
  requestKeyFrame(): void {
    this.keyWanted = true;
  }

  /** What the connection measured it can carry (null: no suggestion). */
  setBitrate(suggested: number | null): void {
    const next = videoBitrate(this.bitrate, suggested);
    if (!bitrateChanged(this.bitrate, next)) return;
    this.bitrate = next;
    // A new encoder at the new rate (WebKit changes the rate only through `configure`), from a key frame.
    this.configure();
  }

  close(): void {
    this.closed = true;
    this.stopWatching?.();
    this.view.srcObject = null;
    if (this.encoder !== null && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
  }

  private frame(): void {
    const track = this.track;
    if (this.closed || this.busy || track === null || track.readyState !== 'live') return;
    if (!track.enabled) {
      // Camera off: the picture starts again from a key frame when it is back on.
      this.keyWanted = true;
      return;
    }
    const size = fitWithin(this.view.videoWidth, this.view.videoHeight, MAX_WIDTH, MAX_HEIGHT);
    if (size.width === 0 || (this.encoder?.encodeQueueSize ?? 0) > MAX_QUEUE) return;
    const timestamp = Math.round(performance.now() * 1000);
    const asked = this.view.videoWidth === size.width && this.view.videoHeight === size.height;
    this.busy = true;
    (asked ? this.copied(timestamp) : this.scaled(size, timestamp))
      .then((frame) => {
        if (frame === null) return;
        try {
          this.encode(frame, timestamp);
        } finally {
          frame.close();
        }
      })
      .catch(() => {
        // No frame to take yet, or the encoder broke: the next tick tries again from a key frame.
        this.keyWanted = true;
      })
      .finally(() => {
        this.busy = false;
      });
  }

  private encode(frame: VideoFrame, timestamp: number): void {
    if (this.closed) return;
    // The encoder takes frames of the size it was made for only (WebKit does not scale).
    if (frame.codedWidth !== this.size.width || frame.codedHeight !== this.size.height) {
      this.size = { width: frame.codedWidth, height: frame.codedHeight };
      this.configure();
    }
    const encoder = this.encoder ?? this.configure();
    if (encoder === null) return;
    const key = this.keyWanted || timestamp - this.lastKeyUs >= KEY_EVERY_US;
    encoder.encode(frame, { keyFrame: key });
    if (key) {
      this.keyWanted = false;
      this.lastKeyUs = timestamp;
    }
  }

  /** The <video>'s frame, its pixels copied into a frame of their own. */
  private async copied(timestamp: number): Promise<VideoFrame> {
    const source = new VideoFrame(this.view, { timestamp });
    try {
      const rect = source.visibleRect;
      const format = source.format;
      if (format === null || rect === null) throw new Error('a frame without pixels to read');
      const size = source.allocationSize();
      if (this.pixels.byteLength !== size) this.pixels = new Uint8Array(size);
      await source.copyTo(this.pixels);
      // The new frame copies the pixels: the buffer serves the next frame.
      return new VideoFrame(this.pixels, { format, codedWidth: rect.width, codedHeight: rect.height, timestamp });
    } finally {
      source.close();
    }
  }

  /** The <video>'s frame drawn at `size` (a camera that did not take the size asked for). */
  private async scaled(size: { width: number; height: number }, timestamp: number): Promise<VideoFrame | null> {
    if (this.canvas.width !== size.width || this.canvas.height !== size.height) {
      this.canvas.width = size.width;
      this.canvas.height = size.height;
    }
    this.draw ??= this.canvas.getContext('2d', { alpha: false, desynchronized: true });
    if (this.draw === null) return null;
    this.draw.drawImage(this.view, 0, 0, size.width, size.height);
    return new VideoFrame(this.canvas, { timestamp });
  }

  private configure(): VideoEncoder | null {
    if (this.encoder !== null && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
    this.keyWanted = true;
    if (this.closed || this.size.width === 0 || this.failures >= MAX_FAILURES) return null;
    this.failures++;
    try {
      const encoder = new VideoEncoder({
        output: (chunk) => this.output(chunk),
        error: () => {
          if (this.encoder === encoder) this.encoder = null;
          this.keyWanted = true;
        },
      });
      encoder.configure({
        codec: 'vp8',
        width: this.size.width,
        height: this.size.height,
        bitrate: this.bitrate,
        framerate: FPS,
        latencyMode: 'realtime',
      });
      this.encoder = encoder;
      return encoder;
    } catch {
      return null;
    }
  }

  private output(chunk: EncodedVideoChunk): void {
    if (this.closed) return;
    this.failures = 0;
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    // Until the next frame: not known yet, so the interval since the last one.
    const durationUs = this.lastFrameUs === null ? 1e6 / FPS : Math.min(1e6, Math.max(1, chunk.timestamp - this.lastFrameUs));
    this.lastFrameUs = chunk.timestamp;
    const sent = this.send({ kind: 'video', key: chunk.type === 'key', timeUs: chunk.timestamp, durationUs, payload });
    // The frames after a lost one refer to it: start again from a key frame.
    if (!sent) this.keyWanted = true;
  }
}
