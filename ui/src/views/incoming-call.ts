/**
 * A call ringing here (`#incoming-call`): who (avatar and name, as text), video or sound only,
 * *Answer* and *Decline*. It floats over the screen without taking the focus from what the
 * person is typing (a Space meant for a message must not answer); screen readers are told at
 * once through the call screen's announcer. The ring itself is the engine's (WebAudio).
 */
import type { CallEngine } from '../calls/engine';
import type { Controller } from '../controller';
import { describeError } from '../model/errors';
import { findUser } from '../model/people';
import { displayName, type AppState } from '../model/state';
import type { CallView } from '../types';
import { avatarElement } from './avatar';
import { el, setText } from './dom';
import { callIcon } from './icons';

export type IncomingCall = { element: HTMLElement; update(state: AppState): void };

/** The other person's name as the screens show it. */
export function callerName(state: AppState, call: CallView): string {
  const user = findUser(state, call.user_id);
  return user !== null ? displayName(user) : 'Someone';
}

export function createIncomingCall(ctl: Controller, calls: CallEngine): IncomingCall {
  const name = el('h2', { id: 'incoming-call-name', class: 'incoming-name' });
  const kind = el('p', { id: 'incoming-call-kind', class: 'incoming-kind' });
  const avatarBox = el('div', { class: 'incoming-avatar' }, el('span', { class: 'avatar' }));
  const decline = el('button', { id: 'incoming-call-decline', type: 'button', class: 'danger call-answer-button' }, callIcon('hang-up'), 'Decline');
  const answer = el('button', { id: 'incoming-call-answer', type: 'button', class: 'accept call-answer-button' }, callIcon('phone'), 'Answer');
  const error = el('p', { id: 'incoming-call-error', class: 'error small', role: 'alert' });
  const element = el(
    'section',
    { id: 'incoming-call', class: 'incoming-call', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'incoming-call-name', 'aria-describedby': 'incoming-call-kind' },
    avatarBox,
    el('div', { class: 'incoming-text' }, kind, name),
    el('div', { class: 'incoming-actions' }, decline, answer),
    error,
  );
  element.hidden = true;

  const act = (run: () => Promise<void>) => {
    answer.disabled = true;
    decline.disabled = true;
    setText(error, '');
    run()
      .catch((e: unknown) => setText(error, describeError(e)))
      .finally(() => {
        answer.disabled = false;
        decline.disabled = false;
      });
  };
  answer.addEventListener('click', () => act(() => calls.answer()));
  decline.addEventListener('click', () => act(() => calls.decline()));

  let shownFor: string | null = null;
  let avatarKey = '';
  return {
    element,
    update(state) {
      const call = state.call;
      const ringing = call !== null && call.phase === 'ringing-here';
      element.hidden = !ringing;
      if (!ringing) {
        shownFor = null;
        return;
      }
      const who = callerName(state, call);
      setText(name, who);
      setText(kind, call.video ? 'Incoming video call' : 'Incoming audio call');
      element.dataset.video = String(call.video);
      const user = findUser(state, call.user_id);
      const key = `${call.user_id}|${user?.avatar_url ?? ''}|${who}`;
      if (key !== avatarKey) {
        avatarKey = key;
        const fresh = user !== null ? avatarElement(ctl, user, who) : el('span', { class: 'avatar', 'aria-hidden': 'true' }, '?');
        avatarBox.replaceChildren(fresh);
      }
      if (shownFor !== call.id) {
        shownFor = call.id;
        setText(error, '');
        // Nothing else has the focus (the window just came up): Answer may take it.
        if (document.activeElement === null || document.activeElement === document.body) answer.focus({ preventScroll: true });
      }
    },
  };
}
