/**
 * "Sign out of Parley on this computer?": a small modal dialog in the main screen with the
 * choice to keep this device's history (the default) or delete it. *Sign out* in the top bar
 * only opens it: signing out always takes this second, confirming step.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { describeError } from '../model/errors';

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
  element.hidden = true;
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

  const setInert = (on: boolean) => {
    for (const node of background) {
      if (on) node.setAttribute('inert', '');
      else node.removeAttribute('inert');
    }
  };

  const close = () => {
    element.hidden = true;
    setInert(false);
    opener.focus();
  };

  cancel.addEventListener('click', close);
  // A click on the backdrop (outside the dialog) cancels too.
  element.addEventListener('click', (e) => {
    if (e.target === element) close();
  });
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
      element.hidden = false;
      setInert(true);
      confirm.focus();
    },
    isOpen: () => !element.hidden,
    onKey(e) {
      // A held-down Enter or Space that opened the dialog must not go on to confirm it.
      if ((e.key === 'Enter' || e.key === ' ') && e.repeat) {
        e.preventDefault();
        return;
      }
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        close();
      } else if (e.key === 'Tab') {
        // Round from the last control to the first and back.
        const items = controls.filter((c) => !c.disabled);
        const first = items[0];
        const last = items[items.length - 1];
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last?.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first?.focus();
        }
      }
    },
  };
}
