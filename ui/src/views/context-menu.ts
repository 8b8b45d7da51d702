/**
 * The app's own context menu, instead of the webview's (Back, Forward, Stop, Reload: reloading
 * resets the window into a stale state, and the others mean nothing here). A right-click, the
 * menu key or Shift+F10 anywhere shows what fits the place: Cut, Copy, Paste and Select all in a
 * text field; Copy on selected text; and what the views offer for their own things (a message's
 * "Copy text", a link's "Open link"), handed over with `offerMenuItems` while the event bubbles
 * up to the window. Where nothing fits, no menu at all. Reloading is never offered.
 */
import { canReadClipboard, copyText, readClipboardText } from '../platform';
import { el, insertText } from './dom';

/**
 * One choice. `name`: its accessible name when the label is a symbol (an emoji); `checked`: a
 * choice that is on or off (`menuitemcheckbox`), such as your reaction.
 */
export type MenuItem = { label: string; action: () => void | Promise<void>; disabled?: boolean; name?: string; checked?: boolean };
/** Small choices side by side (the quick reactions): ← → move along it. Rows come first in a menu. */
export type MenuRow = { row: readonly MenuItem[]; label: string };
export type MenuEntry = MenuItem | MenuRow;

const isRow = (entry: MenuEntry): entry is MenuRow => 'row' in entry;

const offered = new WeakMap<Event, MenuEntry[]>();

/**
 * Adds `items` to the menu of this `contextmenu` event: call it from a view's own listener (the
 * menu is made when the event reaches the window, so inner elements' items come first).
 */
export function offerMenuItems(e: Event, items: readonly MenuEntry[]): void {
  offered.set(e, [...(offered.get(e) ?? []), ...items]);
}

/** Puts `text` on the clipboard: the clipboard API, else the old copy command on a hidden field. */
export async function copyToClipboard(text: string): Promise<boolean> {
  try {
    await copyText(text);
    return true;
  } catch {
    const focus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const area = el('textarea', { class: 'sr-only', 'aria-hidden': 'true', tabindex: '-1' });
    area.value = text;
    document.body.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
    area.remove();
    focus?.focus();
    return done;
  }
}

type TextField = HTMLInputElement | HTMLTextAreaElement;
const TEXT_INPUTS = new Set(['text', 'search', 'email', 'password', 'url', 'tel', 'number']);
/** Types whose selection can be read and set (`email` and `number` have none to scripts). */
const SELECTABLE = new Set(['text', 'search', 'password', 'url', 'tel']);

function textField(target: EventTarget | null): TextField | null {
  if (target instanceof HTMLTextAreaElement) return target;
  if (target instanceof HTMLInputElement && TEXT_INPUTS.has(target.type)) return target;
  return null;
}

function editingItems(field: TextField): MenuItem[] {
  const selectable = field instanceof HTMLTextAreaElement || SELECTABLE.has(field.type);
  const start = selectable ? (field.selectionStart ?? 0) : 0;
  const end = selectable ? (field.selectionEnd ?? 0) : 0;
  const selected = field.value.slice(start, end);
  const secret = field instanceof HTMLInputElement && field.type === 'password';
  const editable = !field.readOnly && !field.disabled;
  // Without a readable selection (email fields), offer Cut and Copy and let the command decide.
  const nothing = selectable && start === end;
  // The menu took the focus: the field gets it back, with the selection it had.
  const restore = () => {
    field.focus();
    if (selectable) field.setSelectionRange(start, end);
  };
  const command = (name: 'cut' | 'copy') => {
    try {
      return document.execCommand(name);
    } catch {
      return false;
    }
  };
  const items: MenuItem[] = [
    {
      label: 'Cut',
      disabled: !editable || secret || nothing,
      action: async () => {
        restore();
        if (command('cut')) return;
        if (await copyToClipboard(selected)) insertText(field, '');
      },
    },
    {
      label: 'Copy',
      disabled: secret || nothing,
      action: async () => {
        restore();
        if (!command('copy')) await copyToClipboard(selected);
      },
    },
  ];
  // Paste needs the clipboard's text, which not every webview hands out: not offered then.
  if (canReadClipboard()) {
    items.push({
      label: 'Paste',
      disabled: !editable,
      action: async () => {
        const text = await readClipboardText().catch(() => null);
        restore();
        if (text !== null && text !== '') insertText(field, text);
      },
    });
  }
  items.push({
    label: 'Select all',
    disabled: field.value === '',
    action: () => {
      field.focus();
      field.select();
    },
  });
  return items;
}

function selectionItems(): MenuItem[] {
  const text = window.getSelection()?.toString() ?? '';
  if (text.trim() === '') return [];
  return [{ label: 'Copy', action: () => void copyToClipboard(text) }];
}

/** The menu on screen (one at a time). */
let current: { element: HTMLElement; close(focusBack: boolean): void } | null = null;

/** Closes the menu, if one is open; `focusBack`: the focus goes back to where it was. */
export function closeContextMenu(focusBack = true): void {
  current?.close(focusBack);
}

/** Whether the app's context menu is open. */
export function contextMenuOpen(): boolean {
  return current !== null;
}

/**
 * Shows `entries` as a menu at (`x`, `y`) in the window (kept inside it; where it would stick out at
 * the bottom, above `above`, else above the point); the first item takes the focus, which goes
 * back to `opener` when the menu closes. Rows of quick choices go first; ← → move along them.
 */
export function showContextMenu(entries: readonly MenuEntry[], x: number, y: number, opener: HTMLElement | null, above: number = y): HTMLElement {
  closeContextMenu(false);
  const button = (item: MenuItem, inRow: boolean) => {
    const checkable = item.checked !== undefined;
    const b = el('button', { type: 'button', role: checkable ? 'menuitemcheckbox' : 'menuitem', tabindex: '-1' }, item.label);
    if (checkable) b.setAttribute('aria-checked', String(item.checked));
    if (item.name !== undefined) {
      b.setAttribute('aria-label', item.name);
      b.title = item.name;
    }
    if (inRow) b.className = 'menu-chip';
    b.disabled = item.disabled === true;
    b.addEventListener('click', () => {
      close(true);
      void Promise.resolve()
        .then(item.action)
        .catch(() => undefined);
    });
    return b;
  };
  // Rows (quick choices) first, then the items in the order offered. Each line is a list of buttons.
  const ordered = [...entries.filter(isRow), ...entries.filter((e) => !isRow(e))];
  const lines: HTMLButtonElement[][] = [];
  const nodes = ordered.map((entry) => {
    if (!isRow(entry)) {
      const b = button(entry, false);
      lines.push([b]);
      return b;
    }
    const buttons = entry.row.map((item) => button(item, true));
    lines.push(buttons);
    return el('div', { role: 'group', class: 'menu-row', 'aria-label': entry.label }, ...buttons);
  });
  const element = el('div', { id: 'context-menu', class: 'context-menu', role: 'menu', 'aria-label': 'Actions' }, ...nodes);
  document.body.append(element);

  const enabled = () => lines.flat().filter((b) => !b.disabled);
  /** The enabled button of line `li` nearest to column `col`, if any. */
  const inLine = (li: number, col: number): HTMLButtonElement | undefined => {
    const line = (lines[li] ?? []).filter((b) => !b.disabled);
    return line[Math.min(col, line.length - 1)];
  };
  const onKey = (e: KeyboardEvent) => {
    const current = document.activeElement as HTMLButtonElement;
    const li = lines.findIndex((line) => line.includes(current));
    const line = li < 0 ? [] : (lines[li] as HTMLButtonElement[]).filter((b) => !b.disabled);
    const col = Math.max(0, line.indexOf(current));
    let next: HTMLButtonElement | undefined;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      // To the next line with something enabled (round at the ends), keeping the column in rows.
      const step = e.key === 'ArrowDown' ? 1 : -1;
      for (let k = 1; k <= lines.length && next === undefined; k++) next = inLine((li + step * k + lines.length * 2) % lines.length, col);
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      next = line[col + (e.key === 'ArrowRight' ? 1 : -1)];
      if (next === undefined) return;
    } else if (e.key === 'Home') next = enabled()[0];
    else if (e.key === 'End') next = enabled()[enabled().length - 1];
    else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
      return;
    } else return;
    // The menu's keys are its own: nothing behind it reacts (lists, the main screen's Escape).
    e.preventDefault();
    e.stopPropagation();
    next?.focus();
  };
  element.addEventListener('keydown', onKey);
  const outside = (e: Event) => {
    if (!(e.target instanceof Node) || !element.contains(e.target)) close(false);
  };
  const away = () => close(false);
  document.addEventListener('pointerdown', outside, true);
  document.addEventListener('scroll', away, true);
  window.addEventListener('blur', away);
  window.addEventListener('resize', away);

  function close(focusBack: boolean): void {
    if (current?.element !== element) return;
    current = null;
    element.remove();
    document.removeEventListener('pointerdown', outside, true);
    document.removeEventListener('scroll', away, true);
    window.removeEventListener('blur', away);
    window.removeEventListener('resize', away);
    if (focusBack && opener?.isConnected === true) opener.focus({ preventScroll: true });
  }
  current = { element, close };

  // Inside the window, flipped to the left or up where it would stick out.
  const box = element.getBoundingClientRect();
  const left = x + box.width > window.innerWidth ? Math.max(0, x - box.width) : x;
  const top = y + box.height > window.innerHeight ? Math.max(0, above - box.height) : y;
  element.style.left = `${left}px`;
  element.style.top = `${top}px`;
  // The first item takes the focus, not a quick choice of a row above it (↑ goes there): a stray
  // Enter never reacts to a message.
  const first = lines.find((line) => line.length === 1 && !(line[0] as HTMLButtonElement).disabled)?.[0] ?? enabled()[0];
  (first ?? element).focus({ preventScroll: true });
  return element;
}

/**
 * Takes over the context menu everywhere: the webview's never shows; the app's does where it has
 * something to offer. Once, at start-up.
 */
export function installContextMenu(): void {
  window.addEventListener('contextmenu', (e) => {
    e.preventDefault();
    const target = e.target instanceof Element ? e.target : null;
    if (target !== null && current?.element.contains(target)) return;
    const field = textField(e.target);
    const items: MenuEntry[] = [...(field !== null ? editingItems(field) : selectionItems()), ...(offered.get(e) ?? [])];
    if (items.length === 0) {
      closeContextMenu(false);
      return;
    }
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    // From the keyboard (menu key, Shift+F10) there is no pointer: under the element instead.
    let { clientX: x, clientY: y } = e;
    let above = y;
    if (x === 0 && y === 0 && target !== null) {
      // Below the element, or above it where there is no room: never over what it is about.
      const r = target.getBoundingClientRect();
      x = r.left + Math.min(16, r.width / 2);
      y = Math.min(r.bottom, window.innerHeight);
      above = r.top;
    }
    showContextMenu(items, x, y, field ?? opener, above);
  });
}
