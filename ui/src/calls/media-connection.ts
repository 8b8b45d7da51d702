/**
 * What the call engine needs of a call's media connection, whichever carries it: the webview's
 * own `RTCPeerConnection` (`CallConnection`), or, in a webview without WebRTC, the page's
 * encoders and decoders bridged to a connection in Rust (`BridgedConnection`,
 * docs/call-media-bridge.md). The engine picks one per call.
 */
import type { StatsSample } from '../model/call-quality';
import type { CallIceServer, CallSignal } from '../types';

export type ConnectionState = RTCPeerConnectionState;
export type MediaKind = 'audio' | 'video';

export type ConnectionEvents = {
  /** A description or candidate of ours, for the other side. */
  signal(signal: CallSignal): void;
  /** The connection's state changed (`connected`, `disconnected`, `failed`…). */
  state(state: ConnectionState): void;
  /** The other side's sound or picture arrived (`remote` has a new track, or `remoteView` is there). */
  track(): void;
  /** The connection can't go on: the call can't either (why, in words). */
  broken(reason: string): void;
};

export interface MediaConnection {
  /** What the other side sends, one track per kind. */
  readonly remote: MediaStream;
  /**
   * Where the connection draws the other side's picture itself, in place of a video track in
   * `remote` (the bridged path: WebKitGTK can't make a track from decoded frames cheaply);
   * null: the picture is `remote`'s video track.
   */
  readonly remoteView: HTMLCanvasElement | null;
  /**
   * A <video> already playing our camera as it is sent (the bridged path's encoder reads it),
   * shown as the preview rather than a second <video> of the same camera; null: none.
   */
  readonly localView: HTMLVideoElement | null;
  readonly state: ConnectionState;
  /**
   * Our tracks are ready (null: none of that kind to send now). The caller's offer follows; the
   * callee answers an offer that came meanwhile.
   */
  start(stream: MediaStream, audio: MediaStreamTrack | null, video: MediaStreamTrack | null): Promise<void>;
  /** One of the other side's signals (already checked: `parseCallSignal`). */
  remoteSignal(signal: CallSignal): Promise<void>;
  /** Sends `track` (null: nothing) in place of what went before, without negotiating again. */
  replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void>;
  /** What the connection measured for the quality indicator; null: nothing yet. */
  stats(): Promise<StatsSample | null>;
  close(): void;
}

/** What a call's connection is made from: the core's `start` signal, and the call's kind. */
export type ConnectionSetup = { callId: string; offerer: boolean; video: boolean; iceServers: CallIceServer[] };

export type ConnectionFactory = (setup: ConnectionSetup, events: ConnectionEvents) => MediaConnection;

/** At most this much of an error's message goes into a reason (it may quote what the peer sent). */
const MAX_DETAIL = 160;

/** An error's message, on one line and short, for a reason the person reads. */
export function errorDetail(e: unknown): string {
  const message = typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : String(e);
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}\u2026` : line;
}
