/**
 * What the app's small modal dialogs share (sign-out, a contact's profile, confirmations): the
 * screen behind goes inert while one is open, a click beside it or Escape dismisses it, Tab stays
 * inside, a held-down Enter or Space that opened it cannot go on to answer it, and the focus goes
 * back to where it came from.
 */

export type Modal = {
  /** Shows it with `focus` focused; the focus returns to `returnTo` (by default, what had it). */
  show(focus: HTMLElement, returnTo?: HTMLElement | null): void;
  hide(): void;
  isOpen(): boolean;
  /** Its keys, for a dialog whose keys arrive from elsewhere (`listen: false`). */
  onKey(e: KeyboardEvent): void;
};

const FOCUSABLE = 'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])';

/**
 * `backdrop`: the hidden element holding the dialog; `background`: the parts of the screen made
 * inert while it is open; `dismiss`: what Escape and a click beside it do (usually `hide`).
 * With `listen: false` the caller hands the keys to `onKey` itself.
 */
export function createModal(
  backdrop: HTMLElement,
  background: readonly HTMLElement[],
  dismiss: () => void,
  options: { listen?: boolean } = {},
): Modal {
  backdrop.hidden = true;
  let returnTo: HTMLElement | null = null;

  const setInert = (on: boolean) => {
    for (const node of background) {
      if (on) node.setAttribute('inert', '');
      else node.removeAttribute('inert');
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if ((e.key === 'Enter' || e.key === ' ') && e.repeat) {
      e.preventDefault();
      return;
    }
    if (e.key === 'Escape' && !e.defaultPrevented) {
      // Only the dialog closes, not the conversation behind it.
      e.preventDefault();
      e.stopPropagation();
      dismiss();
    } else if (e.key === 'Tab') {
      // Round from the last control to the first and back.
      // Those that can take the focus: not disabled, and shown (not inside something hidden).
      const items = [...backdrop.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((c) => !(c as HTMLButtonElement).disabled && c.getClientRects().length > 0);
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey ? document.activeElement === first : document.activeElement === last) {
        e.preventDefault();
        (e.shiftKey ? last : first)?.focus();
      }
    }
  };

  backdrop.addEventListener('click', (e) => {
    if (e.target === backdrop) dismiss();
  });
  if (options.listen !== false) backdrop.addEventListener('keydown', onKey);

  return {
    show(focus, to) {
      const active = document.activeElement;
      returnTo = to !== undefined ? to : active instanceof HTMLElement && active !== document.body ? active : null;
      backdrop.hidden = false;
      setInert(true);
      focus.focus();
    },
    hide() {
      if (backdrop.hidden) return;
      backdrop.hidden = true;
      setInert(false);
      // Back where it was, unless that went away meanwhile.
      if (returnTo?.isConnected === true) returnTo.focus({ preventScroll: true });
      returnTo = null;
    },
    isOpen: () => !backdrop.hidden,
    onKey,
  };
}
