/**
 * What the page encoded, on its way to Rust (`media_send`). One send at a time: records that
 * come meanwhile wait and go together in the next, in order, so a slow moment batches them
 * rather than piling up calls. What waits is bounded: past it a record is refused, and the
 * sender of a refused (or lost) video frame must start again from a key frame, since the frames
 * after it refer to it.
 */
import { encodeRecords, MAX_PAYLOAD_BYTES, type MediaRecord } from './records';

export type OutboxOptions = {
  send(bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  /** A send failed; `video`: a video frame was in it. */
  failed(error: unknown, video: boolean): void;
  /** At most this many payload bytes wait. */
  maxBytes?: number;
};

export class Outbox {
  private queue: MediaRecord[] = [];
  private bytes = 0;
  private sending = false;
  private closed = false;
  private readonly maxBytes: number;

  constructor(private readonly options: OutboxOptions) {
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  /** Queues `record`, and sends unless a send is under way; false: refused (too much waits, or closed). */
  push(record: MediaRecord): boolean {
    const size = record.payload.byteLength;
    if (this.closed || size > MAX_PAYLOAD_BYTES || (this.bytes > 0 && this.bytes + size > this.maxBytes)) return false;
    this.queue.push(record);
    this.bytes += size;
    this.flush();
    return true;
  }

  get waitingBytes(): number {
    return this.bytes;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.bytes = 0;
  }

  private flush(): void {
    if (this.sending || this.closed || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.bytes = 0;
    this.sending = true;
    const done = () => {
      this.sending = false;
      this.flush();
    };
    this.options.send(encodeRecords(batch)).then(done, (e: unknown) => {
      if (!this.closed) this.options.failed(e, batch.some((r) => r.kind === 'video'));
      done();
    });
  }
}
