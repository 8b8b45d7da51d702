/**
 * The history's recovery code on screen: the reminder card of the main screen (shown until the
 * person says they saved it) and the reveal that Settings uses too.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { describeError } from '../model/errors';
import { codeGroups } from '../model/recovery';
import type { AppState } from '../model/state';
import { copyText } from '../platform';

export type CodeReveal = {
  element: HTMLElement;
  /** Hides the code again (and takes it out of the page). */
  reset(): void;
};

/**
 * A button that fetches the code and shows it (`#{prefix}-show`, `#{prefix}-code`), with a copy
 * button (`#{prefix}-copy`) and a status line (`#{prefix}-status`). `extra` goes after the copy
 * button once the code is shown.
 */
export function createCodeReveal(ctl: Controller, prefix: string, showLabel: string, ...extra: HTMLElement[]): CodeReveal {
  const show = el('button', { id: `${prefix}-show`, type: 'button' }, showLabel);
  const code = el('code', { id: `${prefix}-code`, class: 'recovery-code', 'aria-label': 'Recovery code' });
  const copy = el('button', { id: `${prefix}-copy`, type: 'button' }, 'Copy');
  const status = el('p', { id: `${prefix}-status`, class: 'hint', role: 'status' });
  const shown = el('div', { class: 'recovery-shown' }, code, el('div', { class: 'recovery-actions' }, copy, ...extra));
  const element = el('div', { class: 'recovery-reveal' }, show, shown, status);

  const reset = () => {
    code.replaceChildren();
    shown.hidden = true;
    show.hidden = false;
    show.disabled = false;
    setText(status, '');
  };
  reset();

  show.addEventListener('click', () => {
    show.disabled = true;
    setText(status, '');
    ctl
      .recoveryCode()
      .then((text) => {
        // Each group unbreakable, a break allowed after each "-": it wraps at group boundaries,
        // and the text is the code as it is (copying the selection gives the code).
        code.replaceChildren(...codeGroups(text).flatMap((g) => [el('span', { class: 'group' }, g), el('wbr')]));
        shown.hidden = false;
        show.hidden = true;
        copy.focus();
      })
      .catch((e: unknown) => {
        show.disabled = false;
        setText(status, `Parley could not show the code: ${describeError(e)}`);
      });
  });

  copy.addEventListener('click', () => {
    // The shown text is the code as it is (see above).
    copyText(code.textContent ?? '').then(
      () => setText(status, 'Copied. Paste it into your password manager, or write it down.'),
      () => {
        // Select it instead, so that Ctrl+C (or the context menu) copies it.
        const selection = document.getSelection();
        selection?.selectAllChildren(code);
        setText(status, "Parley couldn't copy it. The code is selected: press Ctrl+C to copy it, or write it down.");
      },
    );
  });

  return { element, reset };
}

/**
 * The main screen's reminder: shown while the snapshot says the code is not saved yet.
 * `focusAfter` takes the focus when the card goes away from under it.
 */
export function createRecoveryCard(ctl: Controller, focusAfter: () => void): { element: HTMLElement; update(state: AppState): void } {
  const saved = el('button', { id: 'recovery-card-saved', type: 'button', class: 'primary' }, 'I\u2019ve saved it');
  const error = el('p', { id: 'recovery-card-error', class: 'error', role: 'alert' });
  const reveal = createCodeReveal(ctl, 'recovery-card', 'Show my recovery code', saved);
  const element = el(
    'section',
    { id: 'recovery-card', class: 'recovery-card', 'aria-labelledby': 'recovery-card-title' },
    el('h2', { id: 'recovery-card-title' }, 'Save your recovery code'),
    el(
      'p',
      {},
      'Your message history is encrypted on this computer, and its key is kept in the keyring. If this computer\u2019s keyring is lost or reset, the recovery code is the only way to open your history again. Keep it away from this computer: on paper, or in a password manager.',
    ),
    reveal.element,
    error,
  );
  element.hidden = true;

  saved.addEventListener('click', () => {
    saved.disabled = true;
    setText(error, '');
    ctl
      .recoveryCodeSaved()
      .catch((e: unknown) => setText(error, describeError(e)))
      .finally(() => {
        saved.disabled = false;
      });
  });

  return {
    element,
    update(state) {
      const hide = !state.recoveryCodePending;
      if (hide === element.hidden) return;
      const hadFocus = element.contains(document.activeElement);
      if (hide) reveal.reset();
      element.hidden = hide;
      if (hide && hadFocus) focusAfter();
    },
  };
}
