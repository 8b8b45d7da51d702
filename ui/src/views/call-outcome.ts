/**
 * How the last call ended, in words (`#call-outcome`): declined, busy, no answer, cancelled,
 * missed, unreachable, not supported there, failed with its reason, hung up. Reasons and names
 * come from the core and the other person: text only. Stays until dismissed or another call.
 */
import type { CallMedia } from '../calls/engine';
import { callOutcomeText } from '../model/calls';
import type { CallView } from '../types';
import { el, setText } from './dom';
import { callIcon } from './icons';

export type CallOutcome = {
  element: HTMLElement;
  close: HTMLButtonElement;
  /** Shows how `call` ended (null: nothing to show); false when there is nothing to say. */
  update(call: CallView | null, name: string, media: CallMedia): boolean;
};

/** The words for how `call` ended: our own reason first when the call could not go on here. */
export function outcomeWords(call: CallView, name: string, media: CallMedia): string | null {
  if (media.callId === call.id && media.failure !== null && call.end?.kind !== 'failed') return callOutcomeText({ ...call, end: { kind: 'failed', reason: media.failure } }, name);
  return callOutcomeText(call, name);
}

export function createCallOutcome(onDismiss: (callId: string) => void): CallOutcome {
  const text = el('span', { id: 'call-outcome-text', class: 'call-outcome-text' });
  const close = el('button', { id: 'call-outcome-close', type: 'button', class: 'close', 'aria-label': 'Dismiss' }, '\u2715');
  const element = el('div', { id: 'call-outcome', class: 'call-outcome', role: 'status' }, callIcon('phone'), text, close);
  element.hidden = true;
  let shown: string | null = null;
  close.addEventListener('click', () => {
    if (shown !== null) onDismiss(shown);
  });
  return {
    element,
    close,
    update(call, name, media) {
      const words = call !== null && call.phase === 'ended' ? outcomeWords(call, name, media) : null;
      shown = words === null ? null : (call?.id ?? null);
      element.hidden = words === null;
      setText(text, words ?? '');
      element.dataset.end = call?.end?.kind ?? '';
      return words !== null;
    },
  };
}
