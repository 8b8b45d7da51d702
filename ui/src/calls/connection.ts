/**
 * One call's media connection: a media-only `RTCPeerConnection` (apart from the Rust data
 * connection that carries chat) whose descriptions and ICE candidates travel through the core.
 * The caller offers and the callee answers; the core refuses the other way round, and so does
 * this. One audio and, in a video call, one video transceiver are always negotiated, sending
 * both ways even while there is nothing to send (no camera to be had): a device switched or
 * found mid-call then goes in with `RTCRtpSender.replaceTrack`, without negotiating again. The
 * webview's codecs are offered as they are (Chromium's defaults include VP8 and Opus).
 */
import { sampleStats, type StatsSample } from '../model/call-quality';
import { CandidateQueue, CandidateSignals, iceServersConfig } from '../model/call-signal';
import type { CallIceServer, CallSignal } from '../types';
import { errorDetail as detail, type ConnectionEvents, type MediaConnection, type MediaKind as Kind } from './media-connection';

export type PeerFactory = (config: RTCConfiguration) => RTCPeerConnection;

export class CallConnection implements MediaConnection {
  /** What the other side sends, one track per kind as they arrive. */
  readonly remote = new MediaStream();
  readonly remoteView = null;
  readonly localView = null;
  private readonly pc: RTCPeerConnection;
  private readonly candidates = new CandidateQueue<RTCIceCandidateInit | null>();
  private readonly ours = new CandidateSignals();
  private local: { stream: MediaStream; tracks: Record<Kind, MediaStreamTrack | null> } | null = null;
  /** The other side's offer when it came before our tracks were ready. */
  private pendingOffer: string | null = null;
  private closed = false;

  constructor(
    newPeer: PeerFactory,
    iceServers: readonly CallIceServer[],
    private readonly offerer: boolean,
    private readonly video: boolean,
    private readonly events: ConnectionEvents,
  ) {
    this.pc = newPeer({ iceServers: iceServersConfig(iceServers), bundlePolicy: 'max-bundle' });
    this.pc.addEventListener('icecandidate', (e) => {
      const c = e.candidate;
      const signal = this.ours.next(c === null ? null : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
      if (signal !== null && !this.closed) this.events.signal(signal);
    });
    this.pc.addEventListener('connectionstatechange', () => {
      if (!this.closed) this.events.state(this.pc.connectionState);
    });
    this.pc.addEventListener('track', (e) => {
      if (this.closed) return;
      if (!this.remote.getTracks().includes(e.track)) this.remote.addTrack(e.track);
      this.events.track();
    });
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /**
   * Our tracks are ready (null: none of that kind to send now). The caller offers; the callee
   * answers an offer that came meanwhile.
   */
  async start(stream: MediaStream, audio: MediaStreamTrack | null, video: MediaStreamTrack | null): Promise<void> {
    if (this.closed || this.local !== null) return;
    this.local = { stream, tracks: { audio, video } };
    if (this.offerer) {
      this.pc.addTransceiver(audio ?? 'audio', { direction: 'sendrecv', streams: [stream] });
      if (this.video) this.pc.addTransceiver(video ?? 'video', { direction: 'sendrecv', streams: [stream] });
      await this.step('our offer', false, async () => {
        const offer = await this.pc.createOffer();
        await this.pc.setLocalDescription(offer);
        if (!this.closed) this.events.signal({ kind: 'sdp', sdp_kind: 'offer', sdp: offer.sdp ?? '' });
      });
    } else if (this.pendingOffer !== null) {
      const sdp = this.pendingOffer;
      this.pendingOffer = null;
      await this.answer(sdp);
    }
  }

  /** One of the other side's signals (already checked: `parseCallSignal`). */
  async remoteSignal(signal: CallSignal): Promise<void> {
    if (this.closed) return;
    if (signal.kind === 'ice') {
      const c = signal.candidate === '' ? null : { candidate: signal.candidate, sdpMid: signal.mid, sdpMLineIndex: signal.mline };
      if (this.candidates.add(c)) await this.addCandidate(c);
      return;
    }
    if (signal.kind !== 'sdp') return;
    // The caller offers, the callee answers: a description of the other kind is not followed.
    if (signal.sdp_kind === 'offer' && !this.offerer) {
      if (this.local === null) this.pendingOffer = signal.sdp;
      else await this.answer(signal.sdp);
    } else if (signal.sdp_kind === 'answer' && this.offerer) {
      await this.step('their answer', this.pc.remoteDescription !== null, async () => {
        await this.pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
        this.openCandidates();
      });
    }
  }

  private async answer(sdp: string): Promise<void> {
    const local = this.local;
    if (local === null) return;
    // A later offer (renegotiation) that can't be used leaves the call as it was, rather than ending it.
    const again = this.pc.remoteDescription !== null;
    await this.step('their offer', again, async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      this.openCandidates();
      // The offer's sections of each kind get our track (or none yet), sending both ways.
      const done = new Set<string>();
      for (const t of this.pc.getTransceivers()) {
        const kind = t.receiver.track.kind;
        if ((kind !== 'audio' && kind !== 'video') || done.has(kind) || (kind === 'video' && !this.video)) continue;
        done.add(kind);
        t.direction = 'sendrecv';
        await t.sender.replaceTrack(local.tracks[kind]);
        t.sender.setStreams?.(local.stream);
      }
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      if (!this.closed) this.events.signal({ kind: 'sdp', sdp_kind: 'answer', sdp: answer.sdp ?? '' });
    });
  }

  private openCandidates(): void {
    for (const c of this.candidates.open()) void this.addCandidate(c);
  }

  private async addCandidate(c: RTCIceCandidateInit | null): Promise<void> {
    try {
      await (c === null ? this.pc.addIceCandidate() : this.pc.addIceCandidate(c));
    } catch {
      // A candidate that does not fit is dropped; the others may well do.
    }
  }

  /**
   * Runs a negotiation step. A failure ends the call with its reason, unless the connection was
   * negotiated already (`again`): then it is rolled back and the call goes on as it was.
   */
  private async step(what: string, again: boolean, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      if (this.closed) return;
      if (!again) {
        this.events.broken(`the call\u2019s media could not be set up (${what}: ${detail(e)})`);
        return;
      }
      if (this.pc.signalingState !== 'stable') await this.pc.setLocalDescription({ type: 'rollback' }).catch(() => undefined);
    }
  }

  /** Sends `track` (null: nothing) in place of what went before, without negotiating again. */
  async replaceTrack(kind: Kind, track: MediaStreamTrack | null): Promise<void> {
    if (this.local !== null) this.local.tracks[kind] = track;
    const sender = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
    await sender?.replaceTrack(track);
  }

  async stats(): Promise<StatsSample> {
    const report = await this.pc.getStats();
    const values: Record<string, unknown>[] = [];
    report.forEach((value: Record<string, unknown>) => values.push(value));
    return sampleStats(values);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    for (const t of this.remote.getTracks()) t.stop();
  }
}
