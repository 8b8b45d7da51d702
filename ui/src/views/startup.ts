/**
 * The start-up screen, shown instead of the app when the profile could not be opened
 * (`StartupStatus.ready` is false): no keyring, a locked history, or another failure. It says
 * what happened and offers the ways on (try again, the kernel keyring, the recovery code);
 * `onReady` is called once one of them opens the profile.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { describeError, knownErrorText } from '../model/errors';
import { asSentence, retryOutcome, startupScreen } from '../model/startup';
import type { StartupStatus, StoreKind } from '../types';

export type StartupView = { element: HTMLElement; focus(): void };

export function createStartupView(ctl: Controller, first: StartupStatus, onReady: () => void): StartupView {
  const element = el('main', { id: 'startup', class: 'startup', 'aria-labelledby': 'startup-title' });
  // Failures of the calls themselves, and "that did not help".
  const error = el('p', { id: 'startup-error', class: 'error', role: 'alert' });
  let status = first;
  let focusTarget: HTMLElement | null = null;

  /** Runs a call with every control disabled and the screen marked busy; enabled again after. */
  const busy = async <T>(button: HTMLButtonElement, busyText: string, call: () => Promise<T>): Promise<T> => {
    const controls = Array.from(element.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input'));
    const text = button.textContent ?? '';
    for (const c of controls) c.disabled = true;
    button.textContent = busyText;
    element.setAttribute('aria-busy', 'true');
    try {
      return await call();
    } finally {
      for (const c of controls) c.disabled = false;
      button.textContent = text;
      element.removeAttribute('aria-busy');
    }
  };

  /** What a retry or an unlock came back with: on to the app, or the screen for the new status. */
  const next = (after: StartupStatus) => {
    if (after.ready) {
      onReady();
      return;
    }
    const note = retryOutcome(status, after);
    draw(after);
    if (note !== null) setText(error, note);
    focusTarget?.focus();
  };

  const retry = (button: HTMLButtonElement, keyring?: StoreKind) => {
    setText(error, '');
    busy(button, keyring === undefined ? 'Trying again\u2026' : 'Switching\u2026', () => ctl.retryStartup(keyring)).then(next, (e: unknown) => {
      setText(error, describeError(e));
      button.focus();
    });
  };

  const retryButton = (primary: boolean) => {
    const b = el('button', { id: 'startup-retry', type: 'button', ...(primary ? { class: 'primary' } : {}) }, 'Try again');
    b.addEventListener('click', () => retry(b));
    return b;
  };

  /** The core's own words (what happened, how to fix it), when it gave any. */
  const message = (s: StartupStatus): HTMLElement[] =>
    s.message !== null && s.message.trim() !== '' ? [el('p', { id: 'startup-message', class: 'startup-message' }, asSentence(s.message))] : [];

  const keyringScreen = (s: StartupStatus): HTMLElement[] => {
    const again = retryButton(true);
    focusTarget = again;
    const parts: HTMLElement[] = [
      el('h1', { id: 'startup-title' }, 'Parley needs a keyring'),
      el(
        'p',
        {},
        'Parley keeps your sign-in and the key of your encrypted message history in the system keyring. None is running on this computer, or it is locked.',
      ),
      ...message(s),
      el('div', { class: 'startup-actions' }, again),
    ];
    if (s.kernel_keyring_available) {
      const kernel = el('button', { id: 'startup-kernel-keyring', type: 'button', 'aria-describedby': 'startup-kernel-keyring-hint' }, 'Use the kernel keyring instead');
      kernel.addEventListener('click', () => retry(kernel, 'keyutils'));
      parts.push(
        el(
          'div',
          { class: 'startup-alt' },
          kernel,
          el(
            'p',
            { id: 'startup-kernel-keyring-hint', class: 'hint' },
            'The Linux kernel keyring needs no keyring app, but it forgets everything when the computer restarts: then you sign in again with your password, and you need your recovery code to open your history.',
          ),
        ),
      );
    }
    return parts;
  };

  const lockedScreen = (): HTMLElement[] => {
    const input = el('input', {
      id: 'recovery-code-input',
      name: 'recovery-code',
      type: 'text',
      class: 'code-input',
      autocomplete: 'off',
      spellcheck: 'false',
      autocapitalize: 'characters',
      autocorrect: 'off',
      'aria-describedby': 'recovery-code-hint recovery-error',
    });
    const unlock = el('button', { id: 'recovery-unlock', type: 'submit', class: 'primary' }, 'Unlock');
    const codeError = el('p', { id: 'recovery-error', class: 'error', role: 'alert' });
    const form = el(
      'form',
      { id: 'recovery-form', novalidate: '' },
      el('div', { class: 'field' }, el('label', { for: 'recovery-code-input' }, 'Recovery code'), input, el('p', { id: 'recovery-code-hint', class: 'hint' }, '52 letters and digits in groups of four, like ABCD-EFGH-\u2026 Upper or lower case and spaces don\u2019t matter.')),
      codeError,
      el('div', { class: 'startup-actions' }, unlock),
    );
    const invalid = (text: string) => {
      setText(codeError, text);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      input.select();
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      setText(error, '');
      setText(codeError, '');
      input.removeAttribute('aria-invalid');
      if (input.value.trim() === '') {
        invalid('Enter your recovery code.');
        return;
      }
      busy(unlock, 'Unlocking\u2026', () => ctl.unlockHistory(input.value)).then(next, (err: unknown) => invalid(describeError(err)));
    });
    focusTarget = input;
    return [
      el('h1', { id: 'startup-title' }, 'Your history is locked'),
      el(
        'p',
        {},
        'The key that opens your message history is not in this computer\u2019s keyring (perhaps the keyring is new, or was reset). Your messages are safe and untouched.',
      ),
      el('p', {}, 'Enter the recovery code you saved when you started using Parley.'),
      form,
      el('div', { class: 'startup-alt' }, el('p', { class: 'hint' }, 'Got the keyring with the key back, or unlocked it?'), retryButton(false)),
      el(
        'p',
        { class: 'hint startup-lost' },
        el('strong', {}, 'Lost the code? '),
        'Without it this history cannot be opened, by you or anyone else. Nothing is deleted: if you find the code later, it still opens it.',
      ),
    ];
  };

  const otherScreen = (s: StartupStatus): HTMLElement[] => {
    const again = retryButton(true);
    focusTarget = again;
    const known = s.code !== null ? knownErrorText(s.code) : null;
    return [
      el('h1', { id: 'startup-title' }, 'Parley could not open your profile'),
      ...(known !== null ? [el('p', {}, known)] : []),
      ...message(s),
      el('div', { class: 'startup-actions' }, again),
    ];
  };

  const draw = (s: StartupStatus) => {
    status = s;
    const screen = startupScreen(s);
    element.dataset.code = s.code ?? '';
    setText(error, '');
    const parts = screen === 'keyring' ? keyringScreen(s) : screen === 'locked' ? lockedScreen() : otherScreen(s);
    element.replaceChildren(el('div', { class: 'startup-card' }, ...parts, error));
  };
  draw(first);

  return {
    element,
    focus() {
      focusTarget?.focus();
    },
  };
}
