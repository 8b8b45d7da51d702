/**
 * The composer's emoji picker and the one for reactions: a button ("Emoji") opens a small grid of
 * common emoji by category (`model/emoji.ts`); choosing one puts it at the caret of the field, or
 * (reactions) hands it over. Arrow keys move in the grid, Enter or Space picks, Escape, Tab or a
 * click outside closes, and the focus goes back where it was.
 */
import { el, insertText } from './dom';
import { EMOJI_CATEGORIES } from '../model/emoji';

export type EmojiPicker = { button: HTMLButtonElement; element: HTMLElement; isOpen(): boolean; close(focusBack?: boolean): void };

/**
 * A grid of emoji (`role="dialog"`) shown on request: `returnTo` gets the focus back when it
 * closes, and a click on `toggle` (the button that opens it) is not a click outside.
 */
export type EmojiGrid = { element: HTMLElement; open(returnTo: HTMLElement, toggle?: HTMLElement): void; close(focusBack?: boolean): void; isOpen(): boolean };

/** Puts `text` at the caret of `field` (over its selection, which it kept while the picker had the focus). */
function insertAtCaret(field: HTMLTextAreaElement, text: string): void {
  const start = field.selectionStart;
  const end = field.selectionEnd;
  field.focus();
  field.setSelectionRange(start, end);
  insertText(field, text);
}

/** The next button from `from` on the row above or below, the one nearest across. */
function verticalNeighbour(buttons: readonly HTMLElement[], from: HTMLElement, down: boolean): HTMLElement | undefined {
  const at = from.getBoundingClientRect();
  const rows = buttons
    .map((b) => ({ b, r: b.getBoundingClientRect() }))
    .filter(({ r }) => (down ? r.top > at.top + 1 : r.top < at.top - 1));
  if (rows.length === 0) return undefined;
  const rowTop = down ? Math.min(...rows.map(({ r }) => r.top)) : Math.max(...rows.map(({ r }) => r.top));
  const row = rows.filter(({ r }) => Math.abs(r.top - rowTop) < 1);
  row.sort((a, b) => Math.abs(a.r.left - at.left) - Math.abs(b.r.left - at.left));
  return row[0]?.b;
}

/**
 * The grid: `id` for its element (its headings' ids derive from it), `label` its accessible
 * name, `onPick` called with the emoji chosen (after it closed, without taking the focus back).
 */
export function createEmojiGrid(id: string, label: string, onPick: (emoji: string) => void, onToggle?: (open: boolean) => void): EmojiGrid {
  const grids = EMOJI_CATEGORIES.map((category) =>
    el(
      'section',
      { class: 'emoji-category', 'aria-labelledby': `${id}-${category.id}` },
      el('h3', { id: `${id}-${category.id}` }, category.label),
      el(
        'div',
        { class: 'emoji-grid', role: 'group', 'aria-labelledby': `${id}-${category.id}` },
        ...category.emoji.map((e) => el('button', { type: 'button', class: 'emoji', 'data-emoji': e.char, 'aria-label': e.name, title: e.name, tabindex: '-1' }, e.char)),
      ),
    ),
  );
  const element = el('div', { id, class: 'emoji-picker', role: 'dialog', 'aria-label': label }, ...grids);
  element.hidden = true;
  const all = () => Array.from(element.querySelectorAll<HTMLButtonElement>('button.emoji'));
  // One stop for Tab in the grid (the last one used); arrows move within it.
  let active: HTMLButtonElement | null = null;
  const setActive = (b: HTMLButtonElement) => {
    active?.setAttribute('tabindex', '-1');
    active = b;
    b.setAttribute('tabindex', '0');
  };
  let returnTo: HTMLElement | null = null;
  let toggler: HTMLElement | null = null;

  const onOutside = (e: Event) => {
    if (e.target instanceof Node && !element.contains(e.target) && !(toggler?.contains(e.target) ?? false)) close(false);
  };
  const open = (back: HTMLElement, toggle?: HTMLElement) => {
    returnTo = back;
    toggler = toggle ?? null;
    element.hidden = false;
    onToggle?.(true);
    const first = active ?? all()[0];
    if (first !== undefined) {
      setActive(first);
      first.focus();
    }
    document.addEventListener('pointerdown', onOutside, true);
  };
  function close(focusBack = true): void {
    if (element.hidden) return;
    element.hidden = true;
    onToggle?.(false);
    document.removeEventListener('pointerdown', onOutside, true);
    if (focusBack && returnTo?.isConnected === true) returnTo.focus();
  }

  element.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest<HTMLButtonElement>('button.emoji') : null;
    if (b === null) return;
    setActive(b);
    close(false);
    onPick(b.dataset.emoji ?? '');
  });
  element.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      // Only the picker closes (not the conversation behind it).
      e.preventDefault();
      e.stopPropagation();
      close();
      return;
    }
    const buttons = all();
    const from = document.activeElement as HTMLButtonElement;
    const i = buttons.indexOf(from);
    if (i < 0) return;
    let next: HTMLButtonElement | undefined;
    if (e.key === 'ArrowRight') next = buttons[i + 1];
    else if (e.key === 'ArrowLeft') next = buttons[i - 1];
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') next = verticalNeighbour(buttons, from, e.key === 'ArrowDown') as HTMLButtonElement | undefined;
    else if (e.key === 'Home') next = buttons[0];
    else if (e.key === 'End') next = buttons[buttons.length - 1];
    else if (e.key === 'Tab') {
      // Tab leaves the picker: it closes and the focus is back where it was.
      e.preventDefault();
      close();
      return;
    } else return;
    e.preventDefault();
    if (next !== undefined) {
      setActive(next);
      next.focus();
      next.scrollIntoView({ block: 'nearest' });
    }
  });

  return { element, open, close, isOpen: () => !element.hidden };
}

/** The composer's picker: its button and grid; the emoji goes in at the caret of `field`. */
export function createEmojiPicker(field: HTMLTextAreaElement): EmojiPicker {
  const button = el('button', { id: 'emoji-button', type: 'button', class: 'emoji-button', 'aria-label': 'Emoji', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'aria-controls': 'emoji-picker', title: 'Emoji' }, '\u{1F642}');
  const grid = createEmojiGrid('emoji-picker', 'Emoji', (emoji) => insertAtCaret(field, emoji), (open) => button.setAttribute('aria-expanded', String(open)));
  button.addEventListener('click', () => (grid.isOpen() ? grid.close() : grid.open(field, button)));
  return { button, element: grid.element, isOpen: grid.isOpen, close: grid.close };
}
