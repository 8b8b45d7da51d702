/**
 * A call's media in a webview without WebRTC (docs/call-media-bridge.md). The page captures,
 * encodes, decodes and plays; Rust holds the call's media-only peer connection, packetizes what
 * the page encoded into RTP and hands back whole frames. The signaling is the call's own, so to
 * the engine (and to the other side) this is a connection like `CallConnection`.
 *
 * - `media_open` on `start` (the caller's offer then comes back as an event); the other side's
 *   descriptions and candidates go in with `media_signal`, in order, once it is open.
 * - What the senders encode goes out through two outboxes, sound and video (`media_send`), only
 *   while connected: Rust drops what comes before, and the picture then starts from a key frame.
 * - The microphone is captured by the app itself where it can be (`microphone-choice.ts`), and
 *   by the page's `AudioSender` otherwise; the other side's sound is played by the app where it
 *   can be (`media_speaker`, asked once the connection is open; `speaker-stopped` gives it back
 *   to the page's `AudioReceiver`). While the app does both, the page's audio context rests.
 * - `media_receive` is called again as soon as it answers, one call at a time, for as long as
 *   the connection lasts: its records go to the receivers, its events to the engine (and a
 *   `keyframe` or a suggested bitrate to the camera's encoder).
 *
 * Every record and event that comes back is the other side's doing, or passes through its
 * hands: one that can't be read is dropped and the call goes on.
 */
import type { Controller } from '../../controller';
import { bridgeSample, type StatsSample } from '../../model/call-quality';
import type { CallSignal } from '../../types';
import { errorDetail, type ConnectionEvents, type ConnectionSetup, type ConnectionState, type MediaConnection, type MediaKind } from '../media-connection';
import { openCallAudio, type CallAudio } from './audio-context';
import { AudioReceiver } from './audio-receiver';
import { AudioSender } from './audio-sender';
import { parseMediaEvent, type BridgeEvent } from './events';
import { MicrophoneChoice } from './microphone-choice';
import { Outbox } from './outbox';
import { decodeRecords, type MediaRecord } from './records';
import { VideoReceiver } from './video-receiver';
import { VideoSender } from './video-sender';

/** The commands of the bridge (the controller's). */
export type MediaPort = Pick<Controller, 'mediaOpen' | 'mediaSignal' | 'mediaSend' | 'mediaReceive' | 'mediaMicrophone' | 'mediaSpeaker' | 'mediaClose'>;

/** The page's media of a bridged call; unit tests make their own. */
export type BridgedMedia = {
  audioSender: Pick<AudioSender, 'setTrack' | 'close'>;
  videoSender: Pick<VideoSender, 'view' | 'setTrack' | 'requestKeyFrame' | 'setBitrate' | 'close'> | null;
  /** Plays the other side's sound itself (as the video receiver draws its picture): `remote` carries no track. */
  audioReceiver: Pick<AudioReceiver, 'receive' | 'close'>;
  videoReceiver: Pick<VideoReceiver, 'view' | 'receive' | 'close'> | null;
  /** The page neither captures nor plays sound now (true): its audio context rests. */
  restAudio(resting: boolean): void;
  close(): void;
};

/** Where the senders' records go: false, refused (the picture must start again from a key frame). */
export type RecordSink = (record: MediaRecord) => boolean;

export type MediaMaker = (video: boolean, send: RecordSink) => BridgedMedia;

/** The real thing: one audio context for the microphone and the other side's sound, the camera's encoder, the picture's decoder. */
export const makeMedia: MediaMaker = (video, send) => {
  const audio: CallAudio = openCallAudio();
  return {
    audioSender: new AudioSender(audio, (record) => void send(record)),
    videoSender: video ? new VideoSender(send) : null,
    audioReceiver: new AudioReceiver(audio),
    videoReceiver: video ? new VideoReceiver() : null,
    restAudio: (resting) => audio.rest(resting),
    close: () => audio.close(),
  };
};

/** `media_receive` failing this many times in a row (not for the call's end) ends the call. */
const MAX_RECEIVE_FAILURES = 5;

const codeOf = (e: unknown): unknown => (typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined);
/** The connection is gone in Rust: the call ended (the engine hears it from the core). */
const isGone = (e: unknown) => codeOf(e) === 'no_such_call';

export class BridgedConnection implements MediaConnection {
  /** Carries nothing: the other side's sound plays in the page's audio context, its picture on `remoteView`. */
  readonly remote = new MediaStream();
  private current: ConnectionState = 'new';
  private readonly media: BridgedMedia;
  private readonly microphone: MicrophoneChoice;
  private readonly outboxes: { audio: Outbox; video: Outbox };
  private readonly opened: Promise<boolean>;
  /** The other side's signals, forwarded one after the other. */
  private signals: Promise<void>;
  /** A description of theirs was taken: a later one that fails leaves the call as it was. */
  private described = false;
  private sample: StatsSample | null = null;
  /** The app plays the other side's sound (`media_speaker`). */
  private speakerInApp = false;
  private resting = false;
  private closed = false;

  constructor(
    private readonly port: MediaPort,
    private readonly setup: ConnectionSetup,
    private readonly events: ConnectionEvents,
    make: MediaMaker = makeMedia,
  ) {
    const outbox = () =>
      new Outbox({
        send: (bytes) => port.mediaSend(setup.callId, bytes),
        failed: (_e, video) => {
          if (video) this.media.videoSender?.requestKeyFrame();
        },
      });
    // Sound in a lane of its own: queued behind a video frame's send (tens of KB through the
    // IPC), its packets left in bursts (arriving spread over 90–110 ms instead of 40), and the
    // other side's jitter buffer had to hold that much more (docs/call-media-bridge.md).
    this.outboxes = { audio: outbox(), video: outbox() };
    this.media = make(setup.video, (record) => this.current === 'connected' && this.outboxes[record.kind === 'audio' ? 'audio' : 'video'].push(record));
    this.opened = this.open();
    this.signals = this.opened.then(() => undefined);
    this.microphone = new MicrophoneChoice(
      this.media.audioSender,
      async (label, on) => {
        if (!(await this.opened) || this.closed) return null;
        return port.mediaMicrophone(setup.callId, label, on);
      },
      () => this.restIfIdle(),
    );
  }

  get remoteView(): HTMLCanvasElement | null {
    return this.media.videoReceiver?.view ?? null;
  }

  get localView(): HTMLVideoElement | null {
    return this.media.videoSender?.view ?? null;
  }

  get state(): ConnectionState {
    return this.current;
  }

  async start(_stream: MediaStream, audio: MediaStreamTrack | null, video: MediaStreamTrack | null): Promise<void> {
    if (this.closed) return;
    this.microphone.setTrack(audio);
    this.media.videoSender?.setTrack(video);
  }

  remoteSignal(signal: CallSignal): Promise<void> {
    if (this.closed || signal.kind === 'start') return Promise.resolve();
    // The caller offers, the callee answers: a description of the other kind is not followed.
    if (signal.kind === 'sdp' && (signal.sdp_kind === 'offer') === this.setup.offerer) return Promise.resolve();
    this.signals = this.signals.then(() => this.forward(signal));
    return this.signals;
  }

  async replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    if (this.closed) return;
    if (kind === 'audio') this.microphone.setTrack(track);
    else this.media.videoSender?.setTrack(track);
  }

  async stats(): Promise<StatsSample | null> {
    return this.sample;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current = 'closed';
    this.outboxes.audio.close();
    this.outboxes.video.close();
    this.microphone.close();
    const m = this.media;
    m.audioSender.close();
    m.videoSender?.close();
    m.audioReceiver.close();
    m.videoReceiver?.close();
    m.close();
    void this.port.mediaClose(this.setup.callId).catch(() => undefined);
  }

  private async open(): Promise<boolean> {
    const { callId, offerer, video, iceServers } = this.setup;
    try {
      await this.port.mediaOpen(callId, offerer, video, iceServers);
    } catch (e) {
      if (!this.closed && !isGone(e)) this.events.broken(`the call\u2019s media could not be set up (${errorDetail(e)})`);
      return false;
    }
    if (this.closed) {
      void this.port.mediaClose(callId).catch(() => undefined);
      return false;
    }
    this.events.track();
    void this.receive();
    void this.askSpeaker();
    return true;
  }

  /** Asks the app to play the other side's sound; where it can't (or the ask fails), the page plays it. */
  private async askSpeaker(): Promise<void> {
    try {
      const answer = await this.port.mediaSpeaker(this.setup.callId);
      if (this.closed) return;
      this.speakerInApp = answer.playing;
      this.restIfIdle();
    } catch {
      // The page's player goes on.
    }
  }

  /** The page's audio context rests while the app both captures and plays the call's sound. */
  private restIfIdle(): void {
    const resting = !this.closed && this.speakerInApp && this.microphone.capturedByApp;
    if (resting === this.resting) return;
    this.resting = resting;
    this.media.restAudio(resting);
  }

  private async forward(signal: CallSignal): Promise<void> {
    if (this.closed || !(await this.opened)) return;
    try {
      await this.port.mediaSignal(this.setup.callId, signal);
      if (signal.kind === 'sdp') this.described = true;
    } catch (e) {
      if (this.closed || isGone(e)) return;
      // A first description that can't be used ends the call; a candidate that does not fit is dropped.
      if (signal.kind === 'sdp' && !this.described) {
        this.events.broken(`the call\u2019s media could not be set up (their ${signal.sdp_kind}: ${errorDetail(e)})`);
      }
    }
  }

  /** `media_receive`, again and again, one call at a time, until the connection is closed. */
  private async receive(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let bytes: Uint8Array;
      try {
        bytes = await this.port.mediaReceive(this.setup.callId);
        failures = 0;
      } catch (e) {
        if (this.closed || isGone(e)) return;
        failures++;
        if (failures >= MAX_RECEIVE_FAILURES) {
          this.events.broken(`the call\u2019s media stopped arriving (${errorDetail(e)})`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * failures));
        continue;
      }
      if (!this.closed) this.take(bytes);
    }
  }

  private take(bytes: Uint8Array): void {
    // A buffer that stops making sense gives the records before that point; the rest is lost.
    for (const record of decodeRecords(bytes).records) {
      try {
        if (record.kind === 'video') this.media.videoReceiver?.receive(record);
        else if (record.kind === 'audio') this.media.audioReceiver.receive(record);
        else {
          const event = parseMediaEvent(record.payload);
          if (event !== null) this.event(event);
        }
      } catch {
        // One record that breaks something is dropped; the others go on.
      }
      if (this.closed) return;
    }
  }

  private event(event: BridgeEvent): void {
    switch (event.type) {
      case 'signal':
        this.events.signal(event.signal);
        return;
      case 'state':
        if (event.state === this.current) return;
        this.current = event.state;
        // What was sent before was dropped: the picture starts again from a key frame.
        if (event.state === 'connected') this.media.videoSender?.requestKeyFrame();
        this.events.state(event.state);
        return;
      case 'keyframe':
        this.media.videoSender?.requestKeyFrame();
        return;
      case 'stats':
        this.sample = bridgeSample(event);
        this.media.videoSender?.setBitrate(event.bitrate_bps);
        return;
      case 'microphone-stopped':
        this.microphone.stopped();
        return;
      case 'speaker-stopped':
        this.speakerInApp = false;
        this.restIfIdle();
        return;
    }
  }
}
