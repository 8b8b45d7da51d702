/**
 * Small facts about the pictures of a bridged call, pure: whether a VP8 frame is a key frame (the
 * frame says so itself, whatever a record's flag claims), the size a camera's picture is sent at,
 * and the bitrate to encode at from what the connection measured.
 */

/**
 * Whether `frame` is a VP8 key frame (RFC 6386 §9.1: the frame tag's lowest bit is 0, and a
 * key frame's start code 9d 01 2a follows the three tag bytes).
 */
export function isVp8KeyFrame(frame: Uint8Array): boolean {
  return frame.length >= 10 && ((frame[0] as number) & 1) === 0 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a;
}

/** `width`×`height` scaled down (never up) to fit `maxWidth`×`maxHeight`, keeping its shape, in even numbers. */
export function fitWithin(width: number, height: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  if (!(width > 0 && height > 0)) return { width: 0, height: 0 };
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  const even = (v: number) => Math.max(2, 2 * Math.round((v * scale) / 2));
  return { width: even(width), height: even(height) };
}

export const MIN_VIDEO_BPS = 150_000;
export const MAX_VIDEO_BPS = 2_500_000;

/** The bitrate to encode at when the connection suggests `suggested` (null: keep `current`). */
export function videoBitrate(current: number, suggested: number | null): number {
  if (suggested === null || !Number.isFinite(suggested) || suggested <= 0) return current;
  return Math.round(Math.min(MAX_VIDEO_BPS, Math.max(MIN_VIDEO_BPS, suggested)));
}

/** Whether a new bitrate is worth reconfiguring the encoder for (it costs a key frame). */
export function bitrateChanged(current: number, next: number): boolean {
  return Math.abs(next - current) > current * 0.15;
}
