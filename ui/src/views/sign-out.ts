/**
 * "Sign out of Parley on this computer?": a small modal dialog in the main screen with the
 * choice to keep this device's history (the default) or delete it. *Sign out* in the top bar
 * only opens it: signing out always takes this second, confirming step.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { describeError } from '../model/errors';
import { createModal } from './modal';

export type SignOutDialog = {
  /** The backdrop with the dialog in it (hidden while closed). */
  element: HTMLElement;
  open(): void;
  isOpen(): boolean;
  /**
   * The keys while it is open (the main screen's key handler hands them all over, wherever the
   * focus is): Escape cancels, Tab stays in the dialog.
   */
  onKey(e: KeyboardEvent): void;
};

/** `background`: the parts of the screen behind the dialog, made inert while it is open. */
export function createSignOutDialog(ctl: Controller, opener: HTMLElement, background: readonly HTMLElement[]): SignOutDialog {
  const deleteHistory = el('input', { id: 'sign-out-delete-history', type: 'checkbox', 'aria-describedby': 'sign-out-delete-warning' });
  const cancel = el('button', { id: 'sign-out-cancel', type: 'button' }, 'Cancel');
  const confirm = el('button', { id: 'sign-out-confirm', type: 'button', class: 'primary' }, 'Sign out');
  const error = el('p', { id: 'sign-out-error', class: 'error', role: 'alert' });
  const warning = el(
    'p',
    { id: 'sign-out-delete-warning', class: 'hint sign-out-warning' },
    'Messages that are only on this computer are gone for good.',
  );
  const dialog = el(
    'div',
    { id: 'sign-out-dialog', class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sign-out-title', 'aria-describedby': 'sign-out-keep' },
    el('h2', { id: 'sign-out-title' }, 'Sign out of Parley on this computer?'),
    el('p', { id: 'sign-out-keep' }, 'Your message history stays on this computer: you can read it again after signing in.'),
    el('div', { class: 'check' }, deleteHistory, el('label', { for: 'sign-out-delete-history' }, 'Delete the message history on this computer too')),
    warning,
    error,
    el('div', { class: 'dialog-actions' }, cancel, confirm),
  );
  const element = el('div', { class: 'modal-backdrop' }, dialog);
  // Its keys come from the main screen's handler (`onKey`), wherever the focus is.
  const modal = createModal(element, background, () => modal.hide(), { listen: false });
  const controls = [deleteHistory, cancel, confirm];
  const setEnabled = (on: boolean) => {
    for (const c of controls) c.disabled = !on;
  };

  const sync = () => {
    const wipe = deleteHistory.checked;
    confirm.className = wipe ? 'danger' : 'primary';
    setText(confirm, wipe ? 'Sign out and delete' : 'Sign out');
    warning.classList.toggle('active', wipe);
  };
  deleteHistory.addEventListener('change', sync);

  cancel.addEventListener('click', () => modal.hide());
  confirm.addEventListener('click', () => {
    const keepHistory = !deleteHistory.checked;
    setEnabled(false);
    setText(error, '');
    // Success replaces the main screen with the sign-in screen, dialog and all.
    ctl.signOut(keepHistory).catch((e: unknown) => {
      setEnabled(true);
      setText(error, describeError(e));
      confirm.focus();
    });
  });

  return {
    element,
    open() {
      deleteHistory.checked = false;
      setEnabled(true);
      setText(error, '');
      sync();
      modal.show(confirm, opener);
    },
    isOpen: modal.isOpen,
    onKey: modal.onKey,
  };
}
