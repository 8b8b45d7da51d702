/**
 * The conversation header's *Audio call* and *Video call*. When a call can't be placed now (no
 * WebRTC in this window, offline, the contact offline, a call going on) they stay in place but
 * are marked unavailable and say why: in their tooltip, to screen readers, and in a line under
 * the header when pressed. Pressing one never does nothing without a word.
 */
import type { CallEngine } from '../calls/engine';
import type { Controller } from '../controller';
import { callUnavailable } from '../model/calls';
import { describeError } from '../model/errors';
import { displayName, type AppState } from '../model/state';
import { el, setAttr, setText } from './dom';
import { callIcon } from './icons';

export type CallButtons = {
  /** The two buttons (the header's). */
  element: HTMLElement;
  /** The line under the header that says why a call did not start. */
  note: HTMLElement;
  update(state: AppState): void;
};

/** How long the line under the header stays once it said why. */
const NOTE_MS = 10_000;

export function createCallButtons(ctl: Controller, calls: CallEngine): CallButtons {
  const reason = el('span', { id: 'call-reason', class: 'sr-only' });
  const button = (id: string, label: string, video: boolean) =>
    el('button', { id, type: 'button', class: 'call-button', 'aria-label': label, 'aria-describedby': 'call-reason', 'data-video': String(video) }, callIcon(video ? 'video' : 'phone'));
  const audio = button('call-audio', 'Audio call', false);
  const video = button('call-video', 'Video call', true);
  const element = el('div', { class: 'call-buttons', role: 'group', 'aria-label': 'Call' }, audio, video, reason);
  const noteText = el('span', {});
  const noteClose = el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss' }, '\u2715');
  const note = el('p', { id: 'call-unavailable', class: 'call-unavailable', role: 'status' }, noteText, noteClose);
  note.hidden = true;

  let userId: string | null = null;
  let why: string | null = null;
  let placing = false;
  let noteTimer: ReturnType<typeof setTimeout> | null = null;
  const showNote = (text: string) => {
    setText(noteText, text);
    note.hidden = text === '';
    if (noteTimer !== null) clearTimeout(noteTimer);
    noteTimer = text === '' ? null : setTimeout(() => showNote(''), NOTE_MS);
  };
  noteClose.addEventListener('click', () => showNote(''));

  const press = (withVideo: boolean) => {
    if (why !== null) {
      showNote(why);
      return;
    }
    if (userId === null || placing) return;
    placing = true;
    showNote('');
    calls
      .place(userId, withVideo)
      .catch((e: unknown) => showNote(describeError(e)))
      .finally(() => {
        placing = false;
      });
  };
  audio.addEventListener('click', () => press(false));
  video.addEventListener('click', () => press(true));

  return {
    element,
    note,
    update(state) {
      const open = state.open;
      if (open?.userId !== userId) showNote('');
      userId = open?.userId ?? null;
      if (open === null) return;
      const contact = state.contacts.find((c) => c.user.id === open.userId);
      why = callUnavailable({
        caps: ctl.mediaCaps,
        connection: state.connection,
        contactOnline: contact?.online === true,
        name: contact !== undefined ? displayName(contact.user) : open.title,
        call: state.call,
      });
      setText(reason, why ?? '');
      for (const [b, label] of [
        [audio, `Call ${open.title} (sound only)`],
        [video, `Video call with ${open.title}`],
      ] as const) {
        // Not `disabled`: it stays focusable and pressable, to say why.
        setAttr(b, 'aria-disabled', why === null ? null : 'true');
        setAttr(b, 'title', why ?? label);
      }
    },
  };
}
