/**
 * The compact bar over the screen while a call goes on and the person reads something else
 * (`#call-bar`): who and how long, *Return to call*, mute and *Hang up* at hand.
 */
import type { CallEngine, CallMedia } from '../calls/engine';
import { callStatusText } from '../model/calls';
import { describeError } from '../model/errors';
import type { CallView } from '../types';
import { el, setAttr, setText } from './dom';
import { callIcon } from './icons';

export type CallBar = {
  element: HTMLElement;
  returnButton: HTMLButtonElement;
  update(call: CallView, name: string, media: CallMedia, now: number): void;
};

export function createCallBar(calls: CallEngine, onReturn: () => void, onError: (text: string) => void): CallBar {
  const name = el('span', { class: 'call-bar-name' });
  const status = el('span', { id: 'call-bar-status', class: 'call-bar-status' });
  const returnButton = el(
    'button',
    { id: 'call-bar-return', type: 'button', class: 'call-bar-return' },
    el('span', { class: 'call-bar-dot', 'aria-hidden': 'true' }),
    el('span', { class: 'call-bar-text' }, name, status),
    el('span', { class: 'call-bar-action' }, 'Return to call'),
  );
  const micIcon = el('span', { class: 'call-bar-mic' }, callIcon('mic'));
  const mute = el('button', { id: 'call-bar-mute', type: 'button', class: 'call-round small' }, micIcon);
  const hangUp = el('button', { id: 'call-bar-hang-up', type: 'button', class: 'call-round small danger', 'aria-label': 'Hang up', title: 'Hang up' }, callIcon('hang-up'));
  const element = el('div', { id: 'call-bar', class: 'call-bar', role: 'region', 'aria-label': 'Call going on' }, returnButton, mute, hangUp);
  element.hidden = true;

  let micOn = true;
  returnButton.addEventListener('click', onReturn);
  mute.addEventListener('click', () => calls.setMicrophone(!micOn));
  hangUp.addEventListener('click', () => {
    calls.hangUp().catch((e: unknown) => onError(describeError(e)));
  });

  return {
    element,
    returnButton,
    update(call, who, media, now) {
      micOn = media.micOn;
      setText(name, who);
      setText(status, callStatusText(call, who, now));
      setAttr(returnButton, 'aria-label', `Return to the call with ${who}`);
      const label = micOn ? 'Mute microphone' : 'Unmute microphone';
      setAttr(mute, 'aria-label', label);
      setAttr(mute, 'title', label);
      setAttr(mute, 'aria-pressed', String(!micOn));
      micIcon.replaceChildren(callIcon(micOn ? 'mic' : 'mic-off'));
      element.dataset.phase = call.phase;
    },
  };
}
