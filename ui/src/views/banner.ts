/** The offline banner and the notice area for background errors. */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { errorText } from '../model/errors';
import type { AppState } from '../model/state';

export function createBanner(): { element: HTMLElement; update(state: AppState): void } {
  const element = el(
    'div',
    { id: 'offline-banner', class: 'banner', role: 'status' },
    el('strong', {}, "You're offline. "),
    'Reconnecting in the background. Your history and search still work; messages you send are queued and go out when you\u2019re back online.',
  );
  element.hidden = true;
  return {
    element,
    update(state) {
      element.hidden = state.connection !== 'offline';
    },
  };
}

export function createNotice(ctl: Controller): { element: HTMLElement; update(state: AppState): void } {
  const text = el('span', {});
  const dismiss = el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss' }, '\u2715');
  const element = el('div', { id: 'notice', class: 'notice', role: 'alert' }, text, dismiss);
  element.hidden = true;
  dismiss.addEventListener('click', () => ctl.dismissError());
  return {
    element,
    update(state) {
      element.hidden = state.lastError === null;
      setText(text, state.lastError === null ? '' : errorText(state.lastError));
    },
  };
}
