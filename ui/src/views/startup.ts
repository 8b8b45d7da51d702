/**
 * The start-up screen, shown instead of the app when the profile could not be opened
 * (`StartupStatus.ready` is false): no keyring, a locked history, or another failure. It says
 * what happened and offers the ways on (try again, the kernel keyring, the recovery code);
 * `onReady` is called once one of them opens the profile.
 */
import type { Controller } from '../controller';
import { el, setText, whileBusy } from './dom';
import { describeError, knownErrorText } from '../model/errors';
import { asSentence, retryOutcome, startupScreen } from '../model/startup';
import type { StartupStatus, StoreKind } from '../types';

export type StartupView = { element: HTMLElement; focus(): void };

/** One start-up screen: its parts, and what has the focus when it is shown. */
type Screen = { parts: HTMLElement[]; focus: HTMLElement };

export function createStartupView(ctl: Controller, first: StartupStatus, onReady: () => void): StartupView {
  const element = el('main', { id: 'startup', class: 'startup', 'aria-labelledby': 'startup-title' });
  // Failures of the calls themselves, and "that did not help".
  const error = el('p', { id: 'startup-error', class: 'error', role: 'alert' });
  /** The status on screen, and the screen drawn for it (set by `draw`). */
  let status = first;
  let screen: Screen;

  /** Runs a call with every control of the screen disabled and it marked busy. */
  const busy = <T>(button: HTMLButtonElement, busyText: string, call: () => Promise<T>): Promise<T> =>
    whileBusy(element, button, busyText, call, Array.from(element.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')));

  /** What a retry or an unlock came back with: on to the app, or the screen for the new status. */
  const next = (after: StartupStatus) => {
    if (after.ready) {
      onReady();
      return;
    }
    const note = retryOutcome(status, after);
    draw(after);
    if (note !== null) setText(error, note);
    screen.focus.focus();
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

  /**
   * A screen whose way on is "Try again" (focused): the title, what happened, the core's own
   * words (how to fix it) when it gave any, the button, then `more`.
   */
  const retryScreen = (s: StartupStatus, title: string, what: string | null, more: HTMLElement[] = []): Screen => {
    const again = retryButton(true);
    const message = asSentence(s.message ?? '');
    return {
      focus: again,
      parts: [
        el('h1', { id: 'startup-title' }, title),
        ...(what !== null ? [el('p', {}, what)] : []),
        ...(message !== '' ? [el('p', { id: 'startup-message', class: 'startup-message' }, message)] : []),
        el('div', { class: 'startup-actions' }, again),
        ...more,
      ],
    };
  };

  /** The kernel keyring instead of the missing one (Linux). */
  const kernelKeyring = (): HTMLElement => {
    const kernel = el('button', { id: 'startup-kernel-keyring', type: 'button', 'aria-describedby': 'startup-kernel-keyring-hint' }, 'Use the kernel keyring instead');
    kernel.addEventListener('click', () => retry(kernel, 'keyutils'));
    return el(
      'div',
      { class: 'startup-alt' },
      kernel,
      el(
        'p',
        { id: 'startup-kernel-keyring-hint', class: 'hint' },
        'The Linux kernel keyring needs no keyring app, but it forgets everything when the computer restarts: then you sign in again with your password, and you need your recovery code to open your history.',
      ),
    );
  };

  const keyringScreen = (s: StartupStatus): Screen =>
    retryScreen(
      s,
      'Parley needs a keyring',
      'Parley keeps your sign-in and the key of your encrypted message history in the system keyring. None is running on this computer, or it is locked.',
      s.kernel_keyring_available ? [kernelKeyring()] : [],
    );

  const otherScreen = (s: StartupStatus): Screen =>
    retryScreen(s, 'Parley could not open your profile', s.code !== null ? knownErrorText(s.code) : null);

  const lockedScreen = (): Screen => {
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
    return {
      focus: input,
      parts: [
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
      ],
    };
  };

  const draw = (s: StartupStatus) => {
    status = s;
    const kind = startupScreen(s);
    screen = kind === 'keyring' ? keyringScreen(s) : kind === 'locked' ? lockedScreen() : otherScreen(s);
    element.dataset.code = s.code ?? '';
    setText(error, '');
    element.replaceChildren(el('div', { class: 'startup-card' }, ...screen.parts, error));
  };
  draw(first);

  return {
    element,
    focus() {
      screen.focus.focus();
    },
  };
}
