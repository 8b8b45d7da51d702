/**
 * The call screen (`#call-stage`), over the conversation pane while a call is placed or answered:
 * the other side's picture large (their avatar while there is none: a sound-only call, their
 * camera off), our own preview small, who and how far (calling, ringing, the duration), the
 * connection's quality, what the other side turned off, and the controls: mute, camera, the
 * devices (switched mid-call), minimize and *Hang up*. Their picture is a <video> of the
 * connection's stream, or the canvas a bridged connection draws on (`remoteView`), put in its
 * place with its id (`#call-remote-video` is their picture either way); likewise our preview
 * is the bridged camera's own <video> (`localView`) once the call is connected. The other side's sound plays through an
 * `<audio>` element of its own, on the speaker chosen (`setSinkId` where the webview has it).
 */
import type { CallEngine, CallMedia } from '../calls/engine';
import { callStatusText, remoteMediaText } from '../model/calls';
import { qualityText } from '../model/call-quality';
import { describeError } from '../model/errors';
import { findUser } from '../model/people';
import type { AppState } from '../model/state';
import { canChooseSpeaker, listMediaDevices, routeAudio, watchMediaDevices } from '../platform';
import type { CallView } from '../types';
import type { Controller } from '../controller';
import { avatarElement } from './avatar';
import { createDeviceSelect } from './device-select';
import { el, reconcile, setAttr, setText } from './dom';
import { callIcon, type CallIcon } from './icons';

export type CallStage = {
  element: HTMLElement;
  /** The heading, which takes the focus when the screen opens. */
  heading: HTMLElement;
  /** Kept current while minimized too: the other side's sound plays from here. */
  update(state: AppState, call: CallView, name: string, media: CallMedia, now: number): void;
  /** No call on it: the media elements let their streams go. */
  clear(): void;
  destroy(): void;
};

/** Shows `stream` in `element` (only when it changed: a new object restarts playback). */
function attach(element: HTMLMediaElement, stream: MediaStream | null): void {
  if (element.srcObject === stream) return;
  element.srcObject = stream;
  // Autoplay may be refused (no click yet): the call goes on, the element shows its first frame.
  if (stream !== null) void element.play().catch(() => undefined);
}

/** Puts `view` where `current` is, with the same id, class, label and visibility; returns it. */
function swapInto(current: HTMLElement, view: HTMLElement): HTMLElement {
  if (current === view) return view;
  view.id = current.id;
  view.className = current.className;
  const label = current.getAttribute('aria-label');
  if (label !== null) view.setAttribute('aria-label', label);
  if (view instanceof HTMLCanvasElement) view.setAttribute('role', 'img');
  view.hidden = current.hidden;
  current.replaceWith(view);
  current.removeAttribute('id');
  return view;
}

function roundButton(id: string, icon: CallIcon, caption: string, extra: Record<string, string> = {}): HTMLButtonElement {
  return el(
    'button',
    { id, type: 'button', class: 'call-round', ...extra },
    el('span', { class: 'call-round-icon' }, callIcon(icon)),
    el('span', { class: 'call-round-caption', 'aria-hidden': 'true' }, caption),
  );
}

function setButton(button: HTMLButtonElement, icon: CallIcon, label: string, caption: string): void {
  setAttr(button, 'aria-label', label);
  setAttr(button, 'title', label);
  const iconBox = button.querySelector('.call-round-icon') as HTMLElement;
  if (iconBox.dataset.icon !== icon) {
    iconBox.dataset.icon = icon;
    iconBox.replaceChildren(callIcon(icon));
  }
  setText(button.querySelector('.call-round-caption') as Element, caption);
}

export function createCallStage(ctl: Controller, calls: CallEngine, minimize: () => void): CallStage {
  const remoteVideo = el('video', { id: 'call-remote-video', class: 'call-remote-video', autoplay: '', playsinline: '', 'aria-label': 'Their camera' });
  // Sound goes through the <audio> element (and its speaker); the picture's element stays silent.
  remoteVideo.muted = true;
  /** What shows their picture now: `remoteVideo`, or a bridged connection's canvas. */
  let remotePicture: HTMLElement = remoteVideo;
  const showPicture = (view: HTMLCanvasElement | null) => {
    remotePicture = swapInto(remotePicture, view ?? remoteVideo);
  };
  const remoteAudio = el('audio', { id: 'call-remote-audio', autoplay: '' });
  const placeholderAvatar = el('div', { class: 'call-placeholder-avatar' }, el('span', { class: 'avatar' }));
  const placeholder = el('div', { id: 'call-remote-placeholder', class: 'call-placeholder' }, placeholderAvatar);
  const localVideo = el('video', { id: 'call-local-video', class: 'call-local-video', autoplay: '', playsinline: '', 'aria-label': 'Your camera' });
  localVideo.muted = true;
  /** What shows our preview now: `localVideo`, or the bridged camera's own <video>. */
  let preview: HTMLElement = localVideo;
  const showPreview = (view: HTMLVideoElement | null) => {
    preview = swapInto(preview, view ?? localVideo);
  };
  const heading = el('h2', { id: 'call-stage-name', class: 'call-name', tabindex: '-1' });
  const status = el('p', { id: 'call-status', class: 'call-status' });
  const quality = el('span', { id: 'call-quality', class: 'call-quality', role: 'img' }, el('span', { class: 'bars', 'aria-hidden': 'true' }, el('i', {}), el('i', {}), el('i', {})), el('span', { class: 'call-quality-text' }));
  const remoteState = el('ul', { id: 'call-remote-media', class: 'call-remote-media', 'aria-live': 'polite' });
  const notice = el('p', { id: 'call-notice', class: 'call-notice', role: 'status' });

  const mute = roundButton('call-mute', 'mic', 'Mute');
  const camera = roundButton('call-camera', 'video', 'Camera');
  const devicesToggle = roundButton('call-devices-toggle', 'devices', 'Devices', { 'aria-expanded': 'false', 'aria-controls': 'call-devices', 'aria-label': 'Camera, microphone and speaker', title: 'Camera, microphone and speaker' });
  const minimizeButton = roundButton('call-minimize', 'minimize', 'Chats', { 'aria-label': 'Minimize the call', title: 'Minimize the call (back to the chats)' });
  const hangUp = roundButton('call-hang-up', 'hang-up', 'Hang up', { 'aria-label': 'Hang up', title: 'Hang up' });
  hangUp.classList.add('danger');

  const cameraSelect = createDeviceSelect('call-camera-select', 'videoinput', 'Camera', (id) => void calls.switchDevice('video', id));
  const micSelect = createDeviceSelect('call-microphone-select', 'audioinput', 'Microphone', (id) => void calls.switchDevice('audio', id));
  const speakerSelect = createDeviceSelect('call-speaker-select', 'audiooutput', 'Speaker', (id) => calls.prefs.set('speaker', id));
  speakerSelect.element.hidden = !canChooseSpeaker();
  const devices = el('div', { id: 'call-devices', class: 'call-devices', role: 'group', 'aria-label': 'Devices' }, cameraSelect.element, micSelect.element, speakerSelect.element);
  devices.hidden = true;

  const element = el(
    'section',
    { id: 'call-stage', class: 'call-stage', 'aria-labelledby': 'call-stage-name' },
    el('div', { class: 'call-media' }, remoteVideo, placeholder, localVideo),
    remoteAudio,
    el('header', { class: 'call-top' }, el('div', { class: 'call-who' }, heading, status), quality),
    el('div', { class: 'call-middle' }, remoteState, notice),
    el('div', { class: 'call-bottom' }, devices, el('div', { class: 'call-controls', role: 'toolbar', 'aria-label': 'Call controls' }, mute, camera, devicesToggle, minimizeButton, hangUp)),
  );
  element.hidden = true;

  let media: CallMedia = calls.view;
  /** The speaker chosen could not be used (said until it can). */
  let speakerError = '';
  const fillDevices = async () => {
    const list = await listMediaDevices();
    const chosen = calls.prefs.get();
    cameraSelect.fill(list, chosen.camera);
    micSelect.fill(list, chosen.microphone);
    speakerSelect.fill(list, chosen.speaker);
  };
  const stopWatching = watchMediaDevices(() => {
    if (!devices.hidden) void fillDevices();
  });
  const applySpeaker = () => {
    routeAudio(remoteAudio, calls.prefs.get().speaker).then(
      () => {
        speakerError = '';
      },
      () => {
        speakerError = 'That speaker couldn\u2019t be used: the sound plays on the system\u2019s.';
        setText(notice, speakerError);
        notice.hidden = false;
      },
    );
  };
  const stopPrefs = calls.prefs.subscribe(applySpeaker);
  applySpeaker();

  mute.addEventListener('click', () => calls.setMicrophone(!media.micOn));
  camera.addEventListener('click', () => calls.setCamera(!media.cameraOn));
  devicesToggle.addEventListener('click', () => {
    devices.hidden = !devices.hidden;
    setAttr(devicesToggle, 'aria-expanded', String(!devices.hidden));
    if (!devices.hidden) void fillDevices();
  });
  minimizeButton.addEventListener('click', minimize);
  hangUp.addEventListener('click', () => {
    calls.hangUp().catch((e: unknown) => setText(notice, describeError(e)));
  });
  // Escape minimizes (the screen behind gets its keys back); the devices close first.
  element.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    e.preventDefault();
    if (!devices.hidden) {
      devices.hidden = true;
      setAttr(devicesToggle, 'aria-expanded', 'false');
      devicesToggle.focus();
    } else minimize();
  });

  let avatarKey = '';
  return {
    element,
    heading,
    update(state, call, name, m, now) {
      media = m;
      const answered = call.phase === 'connecting' || call.phase === 'active';
      element.dataset.phase = call.phase;
      element.dataset.video = String(call.video);
      setText(heading, name);
      setText(status, callStatusText(call, name, now));

      // Their picture when they send one; else their avatar (sound only, camera off, not yet).
      const remote = answered ? m.remote : null;
      const view = answered && call.video ? m.remoteView : null;
      const theirPicture = call.video && call.remote_video && remote !== null && (view !== null || remote.getVideoTracks().length > 0);
      showPicture(view);
      attach(remoteVideo, call.video && view === null ? remote : null);
      attach(remoteAudio, remote);
      remotePicture.hidden = !theirPicture;
      placeholder.hidden = theirPicture;
      const user = findUser(state, call.user_id);
      const key = `${call.user_id}|${user?.avatar_url ?? ''}|${name}`;
      if (key !== avatarKey) {
        avatarKey = key;
        placeholderAvatar.replaceChildren(user !== null ? avatarElement(ctl, user, name) : el('span', { class: 'avatar', 'aria-hidden': 'true' }, '?'));
      }

      // Our preview while the camera sends.
      const showSelf = call.video && m.local !== null && m.cameraOn && m.hasCamera;
      const ownView = answered ? m.localView : null;
      showPreview(ownView);
      attach(localVideo, showSelf && ownView === null ? m.local : null);
      preview.hidden = !showSelf;

      const lines = answered ? remoteMediaText(call, name) : [];
      reconcile(
        remoteState,
        lines,
        (line) => line,
        (line) => el('li', {}, callIcon(line.endsWith('microphone is off') ? 'mic-off' : 'video-off'), el('span', {}, line)),
        () => undefined,
      );
      remoteState.hidden = lines.length === 0;
      setText(notice, m.reconnecting ? 'The connection dropped. Reconnecting\u2026' : (m.notice ?? speakerError));
      notice.hidden = notice.textContent === '';

      const reading = answered ? m.quality : null;
      quality.hidden = reading === null;
      if (reading !== null) {
        const words = qualityText(reading);
        quality.dataset.quality = reading.quality;
        setText(quality.querySelector('.call-quality-text') as Element, words.label);
        setAttr(quality, 'aria-label', words.detail);
        setAttr(quality, 'title', words.detail);
      }

      setButton(mute, m.micOn ? 'mic' : 'mic-off', m.micOn ? 'Mute microphone' : 'Unmute microphone', m.micOn ? 'Mute' : 'Unmute');
      setAttr(mute, 'aria-pressed', String(!m.micOn));
      camera.hidden = !call.video;
      setButton(camera, m.cameraOn ? 'video' : 'video-off', m.cameraOn ? 'Turn camera off' : 'Turn camera on', m.cameraOn ? 'Camera off' : 'Camera on');
      setAttr(camera, 'aria-pressed', String(!m.cameraOn));
      // No camera to be had: nothing to turn on (the notice says why).
      camera.disabled = !m.hasCamera && m.notice !== null;
      cameraSelect.element.hidden = !call.video;
    },
    clear() {
      showPicture(null);
      attach(remoteVideo, null);
      attach(remoteAudio, null);
      showPreview(null);
      attach(localVideo, null);
    },
    destroy() {
      stopWatching();
      stopPrefs();
      this.clear();
    },
  };
}
