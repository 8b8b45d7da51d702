/**
 * Search across all conversations; each hit says who wrote it ("You", or the sender's name) and
 * in which conversation; activating a hit opens its conversation at that message.
 */
import type { Controller } from '../controller';
import { arrowKeys, el } from './dom';
import { describeError } from '../model/errors';
import { withoutBidi } from '../model/files';
import { formatDateTime } from '../model/format';
import { senderName } from '../model/people';
import { snippetNodes } from '../model/snippet';
import type { SearchResult } from '../types';

const LIMIT = 30;

export function createSearchView(ctl: Controller): { element: HTMLElement; focus(): void } {
  const input = el('input', { id: 'search-input', type: 'search', placeholder: 'Search messages', 'aria-label': 'Search messages', autocomplete: 'off', 'aria-controls': 'search-results' });
  const status = el('p', { id: 'search-status', role: 'status', class: 'hint' });
  const results = el('ul', { id: 'search-results', class: 'search-results', 'aria-label': 'Search results' });
  const more = el('button', { id: 'search-more', type: 'button' }, 'More results');
  const form = el('form', { role: 'search', class: 'search-form' }, input);
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close search' }, '\u2715');
  const element = el(
    'section',
    { id: 'search', class: 'panel', 'aria-labelledby': 'search-title' },
    el('header', { class: 'panel-header' }, el('h2', { id: 'search-title' }, 'Search'), close),
    form,
    status,
    results,
    more,
  );
  more.hidden = true;
  close.addEventListener('click', () => ctl.back());
  arrowKeys(results, 'button.hit');

  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: SearchResult | undefined;
  let query = '';

  const hitElement = (hit: SearchResult): HTMLElement => {
    const title = hit.conversation_title;
    const sender = senderName(ctl.store.get(), hit.message, title);
    // In a conversation with one person the other writer is that person: "Bob", or "You to Bob".
    const who = sender === 'You' ? el('span', { class: 'hit-title' }, el('span', { class: 'hit-sender' }, 'You'), ` to ${title}`) : el('span', { class: 'hit-title' }, el('span', { class: 'hit-sender' }, sender), sender === title ? '' : ` in ${title}`);
    const button = el(
      'button',
      { type: 'button', class: 'hit', 'data-message-id': hit.message.id, 'data-sender': sender === 'You' ? 'you' : hit.message.sender_id },
      el('span', { class: 'hit-head' }, who, el('time', { datetime: new Date(hit.message.sent_at).toISOString() }, formatDateTime(hit.message.sent_at, Date.now()))),
      el(
        'span',
        { class: 'snippet' },
        // A file: its name is what matched, after a paperclip.
        ...(hit.message.file !== null && !hit.message.deleted ? [el('span', { class: 'file-mark', role: 'img', 'aria-label': 'File:' }, '\u{1F4CE}'), ' '] : []),
        ...snippetNodes(document, hit.message.file !== null ? withoutBidi(hit.snippet) : hit.snippet),
      ),
    );
    button.addEventListener('click', () => void ctl.jumpTo(hit));
    return el('li', {}, button);
  };

  const run = async (append: boolean) => {
    const gen = ++generation;
    const q = append ? query : input.value.trim();
    query = q;
    if (q === '') {
      results.replaceChildren();
      status.textContent = '';
      more.hidden = true;
      return;
    }
    status.textContent = 'Searching\u2026';
    try {
      const hits = await ctl.search(q, append ? last : undefined, LIMIT);
      if (gen !== generation) return;
      if (!append) results.replaceChildren();
      results.append(...hits.map(hitElement));
      last = hits[hits.length - 1] ?? last;
      const n = results.children.length;
      status.textContent = n === 0 ? `No messages match \u201c${q}\u201d.` : `${n}${hits.length === LIMIT ? '+' : ''} message${n === 1 ? '' : 's'} found.`;
      more.hidden = hits.length < LIMIT;
    } catch (e) {
      if (gen === generation) status.textContent = describeError(e);
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(false), 250);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    void run(false);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      results.querySelector<HTMLElement>('button.hit')?.focus();
    }
  });
  more.addEventListener('click', () => void run(true));

  return {
    element,
    focus() {
      input.focus();
      input.select();
    },
  };
}
