/** The views' DOM helpers: text goes through text nodes only, never through HTML parsing. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Brings `parent`'s children in line with `items`, reusing the element of each key (so focus
 * and scroll positions survive updates). Elements are keyed by `data-key`.
 */
export function reconcile<T>(
  parent: HTMLElement,
  items: readonly T[],
  key: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (node: HTMLElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLElement>();
  for (const child of Array.from(parent.children)) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined) existing.set(child.dataset.key, child);
    else child.remove();
  }
  let prev: Element | null = null;
  for (const item of items) {
    const k = key(item);
    let node = existing.get(k);
    if (node !== undefined) existing.delete(k);
    else {
      node = create(item);
      node.dataset.key = k;
    }
    update(node, item);
    const at: Element | null = prev === null ? parent.firstElementChild : prev.nextElementSibling;
    if (at !== node) parent.insertBefore(node, at);
    prev = node;
  }
  for (const node of existing.values()) node.remove();
}

/** Sets the text of `node` only when it changed (cheap updates, no layout churn). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets or removes an attribute. */
export function setAttr(node: Element, name: string, value: string | null): void {
  if (value === null) node.removeAttribute(name);
  else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Up/Down/Home/End move the focus between the buttons of a list. */
export function arrowKeys(list: HTMLElement, selector: string): void {
  list.addEventListener('keydown', (e) => {
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return;
    const items = Array.from(list.querySelectorAll<HTMLElement>(selector));
    if (items.length === 0) return;
    const i = items.indexOf(document.activeElement as HTMLElement);
    const next =
      e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : e.key === 'ArrowDown' ? Math.min(items.length - 1, i + 1) : Math.max(0, i - 1);
    e.preventDefault();
    items[next]?.focus();
  });
}

/**
 * Runs `run` with `controls` disabled (by default just `button`), `button` saying `busyText` and
 * `region` marked `aria-busy`; puts all of it back however `run` ends.
 */
export async function whileBusy<T>(
  region: HTMLElement,
  button: HTMLButtonElement,
  busyText: string,
  run: () => Promise<T>,
  controls: readonly { disabled: boolean }[] = [button],
): Promise<T> {
  const text = button.textContent ?? '';
  for (const c of controls) c.disabled = true;
  button.textContent = busyText;
  region.setAttribute('aria-busy', 'true');
  try {
    return await run();
  } finally {
    for (const c of controls) c.disabled = false;
    button.textContent = text;
    region.removeAttribute('aria-busy');
  }
}

/**
 * Puts `text` over the selection of the focused `field` as typing would: undo works and `input`
 * fires (the old `insertText` command; where it is missing, `setRangeText` and an `input` event).
 */
export function insertText(field: HTMLInputElement | HTMLTextAreaElement, text: string): void {
  let done = false;
  try {
    done = document.activeElement === field && document.execCommand('insertText', false, text);
  } catch {
    done = false;
  }
  if (!done) {
    field.setRangeText(text, field.selectionStart ?? field.value.length, field.selectionEnd ?? field.value.length, 'end');
    field.dispatchEvent(new Event('input', { bubbles: true }));
  }
}
