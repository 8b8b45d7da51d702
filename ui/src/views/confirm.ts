/**
 * A question before something that can't be undone ("Delete this message for everyone?"): a small
 * modal dialog over the main screen (`#confirm-dialog`) with the question, what it means, *Cancel*
 * and the action's own button. Escape, *Cancel* or a click beside it says no; Tab stays inside;
 * the focus goes back to where it was.
 */
import { el, setText } from './dom';

export type Question = { title: string; text: string; confirm: string; danger?: boolean };
/** Asks; resolves to whether the person confirmed. */
export type Ask = (question: Question) => Promise<boolean>;

/** `background`: the parts of the screen behind the dialog, made inert while it is open. */
export function createConfirmDialog(background: readonly HTMLElement[]): { element: HTMLElement; ask: Ask; isOpen(): boolean } {
  const title = el('h2', { id: 'confirm-title' });
  const text = el('p', { id: 'confirm-text' });
  const cancel = el('button', { id: 'confirm-cancel', type: 'button' }, 'Cancel');
  const ok = el('button', { id: 'confirm-ok', type: 'button' });
  const dialog = el(
    'div',
    { id: 'confirm-dialog', class: 'dialog', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
    title,
    text,
    el('div', { class: 'dialog-actions' }, cancel, ok),
  );
  const element = el('div', { class: 'modal-backdrop' }, dialog);
  element.hidden = true;
  let answer: ((yes: boolean) => void) | null = null;
  let returnTo: HTMLElement | null = null;

  const setInert = (on: boolean) => {
    for (const node of background) {
      if (on) node.setAttribute('inert', '');
      else node.removeAttribute('inert');
    }
  };
  const finish = (yes: boolean) => {
    if (element.hidden) return;
    element.hidden = true;
    setInert(false);
    // Back where it was, unless what opened it went away meanwhile (the action then moves the focus).
    if (returnTo?.isConnected === true) returnTo.focus({ preventScroll: true });
    const done = answer;
    answer = null;
    done?.(yes);
  };
  cancel.addEventListener('click', () => finish(false));
  ok.addEventListener('click', () => finish(true));
  element.addEventListener('click', (e) => {
    if (e.target === element) finish(false);
  });
  element.addEventListener('keydown', (e) => {
    // A held-down Enter that opened the dialog must not go on to confirm it.
    if ((e.key === 'Enter' || e.key === ' ') && e.repeat) {
      e.preventDefault();
      return;
    }
    if (e.key === 'Escape') {
      // Only the dialog closes, not the conversation behind it.
      e.preventDefault();
      e.stopPropagation();
      finish(false);
    } else if (e.key === 'Tab') {
      e.preventDefault();
      (document.activeElement === ok ? cancel : ok).focus();
    }
  });

  return {
    element,
    ask(question) {
      finish(false);
      setText(title, question.title);
      setText(text, question.text);
      setText(ok, question.confirm);
      ok.className = question.danger === true ? 'danger' : 'primary';
      returnTo = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
      element.hidden = false;
      setInert(true);
      // The safe answer has the focus: a stray Enter cancels.
      cancel.focus();
      return new Promise<boolean>((resolve) => {
        answer = resolve;
      });
    },
    isOpen: () => !element.hidden,
  };
}
