/**
 * A question before something that can't be undone ("Delete this message for everyone?"): a small
 * modal dialog over the main screen (`#confirm-dialog`) with the question, what it means, *Cancel*
 * and the action's own button. Escape, *Cancel* or a click beside it says no; Tab stays inside;
 * the focus goes back to where it was.
 */
import { el, setText } from './dom';
import { createModal } from './modal';

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
  let answer: ((yes: boolean) => void) | null = null;
  const finish = (yes: boolean) => {
    if (!modal.isOpen()) return;
    modal.hide();
    const done = answer;
    answer = null;
    done?.(yes);
  };
  const modal = createModal(element, background, () => finish(false));
  cancel.addEventListener('click', () => finish(false));
  ok.addEventListener('click', () => finish(true));

  return {
    element,
    ask(question) {
      finish(false);
      setText(title, question.title);
      setText(text, question.text);
      setText(ok, question.confirm);
      ok.className = question.danger === true ? 'danger' : 'primary';
      // The safe answer has the focus: a stray Enter cancels.
      modal.show(cancel);
      return new Promise<boolean>((resolve) => {
        answer = resolve;
      });
    },
    isOpen: modal.isOpen,
  };
}
