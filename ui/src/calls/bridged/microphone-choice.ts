/**
 * Where a bridged call's microphone is captured. The app captures it itself from the desktop's
 * sound server when it can (`media_microphone`; WebKitGTK hands the page its sound 60–300 ms
 * late, docs/call-media-bridge.md), and the page's `AudioSender` then sends nothing; when the
 * app can't (WebKit's mock devices, no sound server, turned off) or its capture stops
 * (`microphone-stopped`), the page's sender takes the track.
 *
 * The page goes on sending while the app is asked: nothing is lost meanwhile, and Rust drops
 * the page's sound once its own flows. Whether the microphone is muted goes with each ask (the
 * track's `enabled`); later mutes reach the app with `set_call_media`.
 */
import type { CallMicrophone } from '../../types';
import type { AudioSender } from './audio-sender';

/** Asks the app to capture the microphone the webview labels `label`, muted unless `on`; null: the call's connection is gone. */
export type AppMicrophone = (label: string, on: boolean) => Promise<CallMicrophone | null>;

export class MicrophoneChoice {
  private track: MediaStreamTrack | null = null;
  /** Asks made; only the latest's answer counts. */
  private asks = 0;
  private inApp = false;
  private closed = false;

  constructor(
    private readonly page: Pick<AudioSender, 'setTrack'>,
    private readonly app: AppMicrophone,
    /** Who sends it changed (`capturedByApp`). */
    private readonly changed: () => void = () => undefined,
  ) {}

  /** The app captures and sends the microphone now (not the page). */
  get capturedByApp(): boolean {
    return this.inApp;
  }

  /** The microphone to send (null: none). */
  setTrack(track: MediaStreamTrack | null): void {
    if (this.closed) return;
    this.track = track;
    if (!this.inApp) this.page.setTrack(track);
    this.ask();
  }

  /** The app's capture stopped on its own: the page sends again. */
  stopped(): void {
    if (this.closed || !this.inApp) return;
    this.inApp = false;
    this.page.setTrack(this.track);
    this.changed();
  }

  close(): void {
    this.closed = true;
  }

  private ask(): void {
    const ask = ++this.asks;
    const track = this.track;
    const on = track?.enabled ?? false;
    this.app(track?.label ?? '', on).then(
      (answer) => this.answered(ask, answer, on),
      () => this.answered(ask, null, on),
    );
  }

  private answered(ask: number, answer: CallMicrophone | null, on: boolean): void {
    if (this.closed || ask !== this.asks) return;
    const inApp = answer?.captured === true;
    if (inApp !== this.inApp) {
      this.inApp = inApp;
      this.page.setTrack(inApp ? null : this.track);
      this.changed();
    }
    // Muted or unmuted while the app was opening it: the app hears the state as it is now.
    if (inApp && this.track !== null && this.track.enabled !== on) this.ask();
  }
}
