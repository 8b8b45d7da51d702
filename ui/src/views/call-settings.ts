/**
 * Settings → *Calls* (`#settings-calls`): the camera, microphone and speaker calls use, with a
 * live preview of the camera and a level meter of the microphone while *Check camera and
 * microphone* runs, and a test sound for the speaker. The choice is remembered on this device at
 * once (it is no part of the form's *Save settings*) and used by the next call — and by the one
 * going on, whose tracks are switched.
 */
import type { CallEngine } from '../calls/engine';
import { watchLevel } from '../calls/level-meter';
import { MediaFailure, openLocalMedia, stopMedia } from '../calls/local-media';
import { playTestSound } from '../calls/tones';
import { canChooseSpeaker, getUserMedia, listMediaDevices, watchMediaDevices } from '../platform';
import { createDeviceSelect } from './device-select';
import { el, setAttr, setText } from './dom';

export type CallSettings = { element: HTMLElement; load(): void; leave(): void; destroy(): void };

export function createCallSettings(calls: CallEngine, callsSupported: () => boolean, callGoingOn: () => boolean): CallSettings {
  const preview = el('video', { id: 'settings-camera-preview', class: 'settings-camera-preview', autoplay: '', playsinline: '', 'aria-label': 'Camera preview' });
  preview.muted = true;
  const noPreview = el('p', { class: 'settings-preview-empty' }, 'No picture');
  const levelBar = el('span', { class: 'mic-level-bar' });
  const level = el('div', { id: 'settings-mic-level', class: 'mic-level', role: 'meter', 'aria-label': 'Microphone level', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, levelBar);
  const check = el('button', { id: 'settings-media-test', type: 'button', 'aria-pressed': 'false' }, 'Check camera and microphone');
  const speakerTest = el('button', { id: 'settings-speaker-test', type: 'button' }, 'Play a test sound');
  const status = el('p', { id: 'settings-media-status', class: 'hint', role: 'status' });
  const unsupported = el('p', { id: 'settings-calls-unavailable', class: 'hint call-settings-unavailable' }, 'Calls are not available in this window yet: its web engine has no WebRTC. What you choose here is kept for when they are.');

  /** The person asked for the check (it runs, or is opening the devices). */
  let wanted = false;
  let checking: { stream: MediaStream; stopLevel: () => void } | null = null;
  /** Counts the checks started, so that one overtaken by a newer (or by leaving) is dropped. */
  let checkSeq = 0;

  // Another device chosen while checking: the check goes on with it.
  const restartCheck = () => {
    if (wanted) void startCheck();
  };
  const camera = createDeviceSelect('settings-camera', 'videoinput', 'Camera', (id) => {
    if (!callGoingOn()) calls.prefs.set('camera', id);
    else void calls.switchDevice('video', id);
    restartCheck();
  });
  const microphone = createDeviceSelect('settings-microphone', 'audioinput', 'Microphone', (id) => {
    if (!callGoingOn()) calls.prefs.set('microphone', id);
    else void calls.switchDevice('audio', id);
    restartCheck();
  });
  const speaker = createDeviceSelect('settings-speaker', 'audiooutput', 'Speaker', (id) => calls.prefs.set('speaker', id));
  const speakerHint = el('p', { id: 'settings-speaker-hint', class: 'hint' });

  const element = el(
    'section',
    { id: 'settings-calls', class: 'settings-calls', 'aria-labelledby': 'settings-calls-title' },
    el('h3', { id: 'settings-calls-title' }, 'Calls'),
    el('p', { class: 'hint' }, 'The camera, microphone and speaker calls use. Kept on this device as soon as you choose.'),
    unsupported,
    el(
      'div',
      { class: 'call-settings' },
      el('div', { class: 'call-settings-devices' }, camera.element, microphone.element, speaker.element, speakerHint),
      el(
        'div',
        { class: 'call-settings-check' },
        el('div', { class: 'settings-preview-box' }, preview, noPreview),
        el('div', { class: 'mic-level-row' }, el('span', { class: 'mic-level-label', 'aria-hidden': 'true' }, 'Microphone'), level),
        el('div', { class: 'call-settings-actions' }, check, speakerTest),
        status,
      ),
    ),
  );

  const showLevel = (value: number) => {
    const percent = Math.round(value * 100);
    levelBar.style.width = `${percent}%`;
    setAttr(level, 'aria-valuenow', String(percent));
  };
  const fill = async () => {
    const devices = await listMediaDevices();
    const chosen = calls.prefs.get();
    camera.fill(devices, chosen.camera);
    microphone.fill(devices, chosen.microphone);
    speaker.fill(devices, chosen.speaker);
  };

  function stopCheck(): void {
    wanted = false;
    checkSeq++;
    // The preview lets go before the tracks end (a track ending under a playing <video> can
    // deadlock WebKitGTK without GPU compositing: calls/engine.ts, endSession).
    preview.srcObject = null;
    if (checking !== null) {
      checking.stopLevel();
      stopMedia(checking.stream);
      checking = null;
    }
    preview.hidden = true;
    noPreview.hidden = false;
    showLevel(0);
    setText(status, '');
    setText(check, 'Check camera and microphone');
    setAttr(check, 'aria-pressed', 'false');
  }

  async function startCheck(): Promise<void> {
    stopCheck();
    wanted = true;
    const seq = checkSeq;
    setText(status, '');
    setText(check, 'Stop checking');
    setAttr(check, 'aria-pressed', 'true');
    const chosen = calls.prefs.get();
    try {
      const media = await openLocalMedia(getUserMedia, true, chosen);
      if (seq !== checkSeq) {
        stopMedia(media.stream);
        return;
      }
      const stopLevel = watchLevel(new MediaStream([media.audio]), showLevel);
      checking = { stream: media.stream, stopLevel };
      preview.srcObject = media.video === null ? null : new MediaStream([media.video]);
      preview.hidden = media.video === null;
      noPreview.hidden = media.video !== null;
      if (media.video !== null) void preview.play().catch(() => undefined);
      setText(status, media.notice ?? 'Speak: the bar moves with your voice.');
      // Now that access is allowed, the devices have their names.
      await fill();
    } catch (e) {
      if (seq !== checkSeq) return;
      stopCheck();
      setText(status, e instanceof MediaFailure ? `The microphone can\u2019t be used: ${e.message}.` : 'The camera and microphone could not be opened.');
    }
  }

  check.addEventListener('click', () => {
    if (wanted) stopCheck();
    else void startCheck();
  });
  speakerTest.addEventListener('click', () => {
    setText(status, '');
    playTestSound(calls.prefs.get().speaker).catch(() => setText(status, 'The test sound could not be played on that speaker.'));
  });

  let stopWatching: (() => void) | null = null;
  // The other pickers (the call screen's) choose too: the lists show the same.
  const stopPrefs = calls.prefs.subscribe(() => {
    if (stopWatching !== null) void fill();
  });

  return {
    element,
    load() {
      unsupported.hidden = callsSupported();
      const sinks = canChooseSpeaker();
      speaker.select.disabled = !sinks;
      setText(speakerHint, sinks ? '' : 'This window\u2019s web engine always plays calls on the system\u2019s speaker.');
      speakerHint.hidden = sinks;
      stopCheck();
      setText(status, '');
      void fill();
      stopWatching?.();
      stopWatching = watchMediaDevices(() => void fill());
    },
    leave() {
      stopCheck();
      stopWatching?.();
      stopWatching = null;
    },
    destroy() {
      this.leave();
      stopPrefs();
    },
  };
}
