/**
 * The page's side of calls (docs/call-protocol.md). The core decides where a call is and carries
 * its signaling; this engine makes its media. On `start` it opens the camera and microphone
 * chosen, makes the call's connection and, on the caller's side, the offer: a `CallConnection`
 * (the webview's WebRTC) or, in a webview without it, a `BridgedConnection` (the page's
 * WebCodecs with Rust's WebRTC, docs/call-media-bridge.md), chosen once per call;
 * it sends our descriptions and candidates and applies the other side's; it tells the core when
 * the media connected (the call becomes active) or failed; and it closes tracks and connection
 * when the call ends. Mute, camera off, devices switched mid-call, the connection's quality and
 * the ring tones are here too.
 *
 * Views read `view` (and `subscribe`) and call the methods; the engine reaches the core only
 * through the controller's call methods, and reads the call itself from the store.
 */
import type { Controller } from '../controller';
import { callPath, isLive } from '../model/calls';
import { qualityOf, type QualityReading, type StatsSample } from '../model/call-quality';
import { parseCallSignal } from '../model/call-signal';
import type { CallIceServer, CallView } from '../types';
import { BridgedConnection } from './bridged/bridged-connection';
import { SENT_SIZE } from './bridged/video-sender';
import { CallConnection, type PeerFactory } from './connection';
import type { DevicePrefs } from './device-prefs';
import { MediaFailure, openLocalMedia, openTrack, stopMedia, type CameraSize, type GetUserMedia, type LocalMedia } from './local-media';
import type { ConnectionFactory, ConnectionState, MediaConnection } from './media-connection';
import { TonePlayer } from './tones';

/** What of the controller the engine uses. */
export type CallPort = Pick<
  Controller,
  | 'store'
  | 'mediaCaps'
  | 'onCallSignal'
  | 'startCall'
  | 'answerCall'
  | 'declineCall'
  | 'hangUp'
  | 'sendCallSignal'
  | 'callMediaState'
  | 'setCallMedia'
  | 'mediaOpen'
  | 'mediaSignal'
  | 'mediaSend'
  | 'mediaReceive'
  | 'mediaMicrophone'
  | 'mediaSpeaker'
  | 'mediaClose'
>;

/** The media side of the call, for the views. */
export type CallMedia = {
  /** The call this is about (null: none yet). */
  callId: string | null;
  /** Our camera's picture for the preview (null: none). */
  local: MediaStream | null;
  /** A <video> the connection already plays `local`'s camera in, shown as the preview instead (the bridged path). */
  localView: HTMLVideoElement | null;
  /** What the other side sends (null: nothing yet). */
  remote: MediaStream | null;
  /** Where the connection draws their picture itself, shown in place of `remote`'s video (the bridged path). */
  remoteView: HTMLCanvasElement | null;
  micOn: boolean;
  cameraOn: boolean;
  /** A camera can send in this call: false for sound only, and when none could be had. */
  hasCamera: boolean;
  /** What the person should know about their own media (no camera, a device that did not switch). */
  notice: string | null;
  /** The connection dropped and is being made again. */
  reconnecting: boolean;
  /** Why the call could not go on here, for the words of how it ended. */
  failure: string | null;
  quality: QualityReading | null;
};

const IDLE: CallMedia = {
  callId: null,
  local: null,
  localView: null,
  remote: null,
  remoteView: null,
  micOn: true,
  cameraOn: true,
  hasCamera: false,
  notice: null,
  reconnecting: false,
  failure: null,
  quality: null,
};

export type EngineOptions = {
  getUserMedia: GetUserMedia;
  prefs: DevicePrefs;
  /** Makes each call's connection; by default as the webview allows (`callPath` of the capabilities reported). */
  connect?: ConnectionFactory;
  /** The webview's peer connections, for the default `CallConnection`. */
  newPeer?: PeerFactory;
  tones?: TonePlayer;
  /** How often the connection's statistics are read for the quality indicator. */
  statsEveryMs?: number;
};

const RELOADED = 'the window was reloaded during the call, which ended its sound and picture';
const NOT_CONNECTED =
  'the media connection could not be made: a firewall or the network may be blocking it (a TURN server in Settings can help)';
const LOST = 'the media connection was lost (the network changed or went down)';
const NO_MEDIA = 'the camera and microphone could not be opened';

/** One call's media, from `start` to its end. */
class Session {
  connection: MediaConnection | null = null;
  media: LocalMedia | null = null;
  connected = false;
  closed = false;
  statsTimer: ReturnType<typeof setInterval> | null = null;
  lastSample: StatsSample | null = null;

  constructor(
    readonly callId: string,
    readonly video: boolean,
  ) {}
}

/** Media opened when the person placed a call: their preview while it rings, and no wait once answered. */
type Early = { video: boolean; media: Promise<LocalMedia>; opened: LocalMedia | null; failure: string | null };

/** The stream a preview shows: a new object whenever a track changed, so a `<video>` takes it afresh. */
function preview(media: LocalMedia): MediaStream | null {
  return media.video === null ? null : new MediaStream([media.video]);
}

export class CallEngine {
  private state: CallMedia = IDLE;
  private readonly listeners = new Set<(media: CallMedia) => void>();
  private session: Session | null = null;
  private early: Early | null = null;
  private readonly getUserMedia: GetUserMedia;
  private readonly connect: ConnectionFactory;
  private readonly tones: TonePlayer;
  private readonly statsEveryMs: number;
  readonly prefs: DevicePrefs;
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly ctl: CallPort,
    options: EngineOptions,
  ) {
    this.getUserMedia = options.getUserMedia;
    const newPeer = options.newPeer ?? ((config) => new RTCPeerConnection(config));
    this.connect =
      options.connect ??
      ((setup, events) =>
        callPath(ctl.mediaCaps) === 'bridged'
          ? new BridgedConnection(ctl, setup, events)
          : new CallConnection(newPeer, setup.iceServers, setup.offerer, setup.video, events));
    this.tones = options.tones ?? new TonePlayer();
    this.statsEveryMs = options.statsEveryMs ?? 2000;
    this.prefs = options.prefs;
    this.stops.push(ctl.onCallSignal((callId, raw) => this.onSignal(callId, raw)));
    this.stops.push(ctl.store.subscribe((state, prev) => {
      if (state.call !== prev.call) this.onCall(state.call);
    }));
  }

  get view(): CallMedia {
    return this.state;
  }

  subscribe(listener: (media: CallMedia) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(change: Partial<CallMedia>): void {
    this.state = { ...this.state, ...change };
    for (const listener of [...this.listeners]) listener(this.state);
  }

  // --- what the person does ----------------------------------------------------------------

  /** Calls `userId`. The camera and microphone open at once (the preview while it rings). */
  async place(userId: string, video: boolean): Promise<void> {
    this.tones.prime();
    this.dropEarly();
    this.update({ ...IDLE });
    this.openEarly(video);
    try {
      const call = await this.ctl.startCall(userId, video);
      this.update({ callId: call.id });
      this.cancelIfNoMicrophone();
    } catch (e) {
      this.dropEarly();
      throw e;
    }
  }

  async answer(): Promise<void> {
    const call = this.ctl.store.get().call;
    if (call === null || call.phase !== 'ringing-here') return;
    this.tones.prime();
    this.tones.play(null);
    await this.ctl.answerCall(call.id);
  }

  async decline(): Promise<void> {
    const call = this.ctl.store.get().call;
    if (call === null || call.phase !== 'ringing-here') return;
    this.tones.play(null);
    await this.ctl.declineCall(call.id);
  }

  /** Cancels, declines or hangs up the call going on, as fits. */
  async hangUp(): Promise<void> {
    const call = this.ctl.store.get().call;
    if (isLive(call)) await this.ctl.hangUp(call.id);
  }

  /** Mutes or unmutes: the track stops carrying sound here, and the other side is told. */
  setMicrophone(on: boolean): void {
    const media = this.localMedia();
    if (media !== null) media.audio.enabled = on;
    this.update({ micOn: on });
    this.tellMedia();
  }

  /** Camera off or on: the track stops carrying picture here, and the other side is told. */
  setCamera(on: boolean): void {
    const media = this.localMedia();
    if (media?.video != null) media.video.enabled = on;
    this.update({ cameraOn: on });
    this.tellMedia();
  }

  /**
   * Another camera or microphone (`''`: the system's), remembered for the next calls too. In a
   * call its track replaces the one sent, without negotiating again; when it can't be opened
   * the call goes on with the old one and the person is told.
   */
  async switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    this.prefs.set(kind === 'audio' ? 'microphone' : 'camera', deviceId);
    const media = this.localMedia();
    const video = this.session?.video ?? this.early?.video ?? false;
    if (media === null || (kind === 'video' && !video)) return;
    let track: MediaStreamTrack;
    try {
      track = await openTrack(this.getUserMedia, kind, deviceId, this.cameraSize());
    } catch (e) {
      this.update({ notice: e instanceof MediaFailure ? e.message : NO_MEDIA });
      return;
    }
    if (this.localMedia() !== media) {
      track.stop();
      return;
    }
    track.enabled = kind === 'audio' ? this.state.micOn : this.state.cameraOn;
    const old = kind === 'audio' ? media.audio : media.video;
    if (old !== null) media.stream.removeTrack(old);
    media.stream.addTrack(track);
    if (kind === 'audio') media.audio = track;
    else media.video = track;
    await this.session?.connection?.replaceTrack(kind, track);
    const foundCamera = kind === 'video' && !this.state.hasCamera;
    this.update({ local: preview(media), hasCamera: media.video !== null, notice: null });
    // Ended once the preview shows the new one (see endSession).
    old?.stop();
    if (foundCamera) this.tellMedia();
  }

  /**
   * The call the core had when the page started (`current_call`). One already answered lost its
   * media with the page: the core is told, so that it ends rather than hangs.
   */
  resume(call: CallView | null): void {
    if (call === null || this.session !== null) return;
    if (call.phase === 'connecting' || call.phase === 'active') void this.ctl.callMediaState(call.id, RELOADED).catch(() => undefined);
  }

  dispose(): void {
    for (const stop of this.stops) stop();
    this.endSession();
    this.dropEarly();
    this.tones.close();
  }

  // --- the core's side ---------------------------------------------------------------------

  private onCall(call: CallView | null): void {
    this.tones.play(call?.phase === 'ringing-here' ? 'ring' : call?.phase === 'ringing-there' ? 'ringback' : null);
    const s = this.session;
    if (s !== null && (call === null || call.id !== s.callId || call.phase === 'ended')) this.endSession();
    if (!isLive(call)) this.dropEarly();
    if (call !== null && call.id !== this.state.callId && this.early === null && this.session === null) {
      // Somebody else's call (ringing here): nothing of the last one's carries over.
      this.update({ ...IDLE, callId: call.id });
    }
    this.cancelIfNoMicrophone();
  }

  private onSignal(callId: string, raw: unknown): void {
    // A peer chose what is in it: anything that is not a signal is ignored, and the call goes on.
    const signal = parseCallSignal(raw);
    if (signal === null) return;
    if (signal.kind === 'start') {
      void this.begin(callId, signal.offerer, signal.ice_servers);
      return;
    }
    const s = this.session;
    if (s === null || s.callId !== callId || s.connection === null) return;
    void s.connection.remoteSignal(signal);
  }

  /** `start`: the call was answered; its media connection is made now. */
  private async begin(callId: string, offerer: boolean, iceServers: CallIceServer[]): Promise<void> {
    if (this.session?.callId === callId) return;
    this.endSession();
    const call = this.ctl.store.get().call;
    const video = call?.id === callId ? call.video : (this.early?.video ?? false);
    const s = new Session(callId, video);
    this.session = s;
    // Made at once: the other side's signals may come while the camera opens.
    s.connection = this.connect({ callId, offerer, video, iceServers }, {
      signal: (signal) => {
        void this.ctl.sendCallSignal(callId, signal).catch(() => undefined);
      },
      state: (state) => this.connectionState(s, state),
      track: () => {
        if (this.session === s && s.connection !== null) this.update({ remote: new MediaStream(s.connection.remote.getTracks()), remoteView: s.connection.remoteView, localView: s.connection.localView });
      },
      broken: (reason) => this.fail(s, reason),
    });
    // The caller's media opened early is used when it is of the kind answered; else let go.
    const early = this.early !== null && this.early.video === video ? this.early : null;
    if (early === null) this.dropEarly();
    else this.early = null;
    if (early === null) this.update({ ...IDLE, callId });
    else this.update({ callId, failure: null });
    let media: LocalMedia;
    try {
      media = await (early?.media ?? openLocalMedia(this.getUserMedia, video, this.prefs.get(), this.cameraSize()));
    } catch (e) {
      this.fail(s, e instanceof MediaFailure ? e.message : NO_MEDIA);
      return;
    }
    if (s.closed) {
      stopMedia(media.stream);
      return;
    }
    s.media = media;
    media.audio.enabled = this.state.micOn;
    if (media.video !== null) media.video.enabled = this.state.cameraOn;
    this.update({ local: preview(media), hasCamera: media.video !== null, notice: media.notice });
    await s.connection.start(media.stream, media.audio, media.video);
    // The other side assumes sound, and picture in a video call, until told otherwise.
    if (!this.state.micOn || (video && !(this.state.cameraOn && media.video !== null))) this.tellMedia();
    s.statsTimer = setInterval(() => void this.sample(s), this.statsEveryMs);
  }

  private connectionState(s: Session, state: ConnectionState): void {
    if (this.session !== s) return;
    if (state === 'connected') {
      if (!s.connected) {
        s.connected = true;
        void this.ctl.callMediaState(s.callId, null).catch(() => undefined);
      }
      this.update({ reconnecting: false });
    } else if (state === 'disconnected') {
      // Often back by itself within seconds (ICE keeps trying); 'failed' follows otherwise.
      this.update({ reconnecting: true });
    } else if (state === 'failed') {
      this.fail(s, s.connected ? LOST : NOT_CONNECTED);
    }
  }

  /** The call can't go on here: the core is told why (it ends the call for both), and our media stops. */
  private fail(s: Session, reason: string): void {
    if (s.closed || this.session !== s) return;
    this.update({ failure: reason });
    void this.ctl.callMediaState(s.callId, reason).catch(() => undefined);
    this.endSession();
  }

  private async sample(s: Session): Promise<void> {
    if (s.closed || s.connection === null) return;
    try {
      const sample = await s.connection.stats();
      if (sample === null) return;
      const reading = qualityOf(s.lastSample, sample);
      s.lastSample = sample;
      if (!s.closed && reading !== null) this.update({ quality: reading });
    } catch {
      /* no statistics this time: the indicator keeps the last reading */
    }
  }

  /** What we send now, for the other side's screen (nothing to tell before the call is answered). */
  private tellMedia(): void {
    const s = this.session;
    if (s === null || s.connection === null || s.closed) return;
    const video = s.video && this.state.cameraOn && this.state.hasCamera;
    void this.ctl.setCallMedia(s.callId, this.state.micOn, video).catch(() => undefined);
  }

  /**
   * A bridged call encodes in the page and sends 640×480 at most: the camera is asked for that
   * rather than 720p that would have to be scaled down frame by frame (its native size is
   * cheapest everywhere). Undefined: the usual size.
   */
  private cameraSize(): CameraSize | undefined {
    return callPath(this.ctl.mediaCaps) === 'bridged' ? SENT_SIZE : undefined;
  }

  private localMedia(): LocalMedia | null {
    return this.session?.media ?? this.early?.opened ?? null;
  }

  private endSession(): void {
    const s = this.session;
    if (s === null) return;
    s.closed = true;
    this.session = null;
    if (s.statsTimer !== null) clearInterval(s.statsTimer);
    // The call screen lets go of the streams before their tracks end: in WebKitGTK without GPU
    // compositing, a track ending under a <video> still playing it can deadlock the page (its
    // video sink waits for the main thread while the main thread tears the pipeline down).
    this.update({ local: null, localView: null, remote: null, remoteView: null, quality: null, reconnecting: false });
    s.connection?.close();
    stopMedia(s.media?.stream);
  }

  // --- media opened before the answer (the caller's) ---------------------------------------

  private openEarly(video: boolean): void {
    const media = openLocalMedia(this.getUserMedia, video, this.prefs.get(), this.cameraSize());
    const early: Early = { video, media, opened: null, failure: null };
    this.early = early;
    media.then(
      (opened) => {
        if (this.early !== early) return;
        early.opened = opened;
        opened.audio.enabled = this.state.micOn;
        if (opened.video !== null) opened.video.enabled = this.state.cameraOn;
        this.update({ local: preview(opened), hasCamera: opened.video !== null, notice: opened.notice });
      },
      (e: unknown) => {
        if (this.early !== early) return;
        early.failure = e instanceof MediaFailure ? e.message : NO_MEDIA;
        this.cancelIfNoMicrophone();
      },
    );
  }

  /**
   * Without a microphone the call could only fail once answered: a call of ours still ringing
   * there is cancelled at once, and the person told why.
   */
  private cancelIfNoMicrophone(): void {
    const early = this.early;
    const call = this.ctl.store.get().call;
    if (early?.failure == null || call === null || !call.outgoing || (call.phase !== 'calling' && call.phase !== 'ringing-there')) return;
    if (this.state.callId !== call.id) return;
    this.update({ failure: early.failure });
    this.early = null;
    void this.ctl.hangUp(call.id).catch(() => undefined);
  }

  private dropEarly(): void {
    const early = this.early;
    if (early === null) return;
    this.early = null;
    void early.media.then((opened) => stopMedia(opened.stream), () => undefined);
    if (this.session === null) this.update({ local: null });
  }
}
