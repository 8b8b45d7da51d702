/**
 * One message in the conversation's list: the quote of what it answers, its text with clickable
 * links (or the placeholder of a deleted message), "edited", time and tick, the reactions as
 * chips below it, and its "Message actions" button (shown on hover and focus; always for touch).
 * Peer text (bodies, quotes, names, emoji) only ever goes in as text nodes.
 *
 * Rows take part in a roving focus: one message at a time is in the Tab order (`setCurrent`),
 * with its own buttons and links; the others are reached with ↑ ↓.
 */
import { el, reconcile, setAttr, setText } from './dom';
import type { TransferProgress } from '../model/files';
import { formatDateTime, formatTime, tickFor } from '../model/format';
import { linkify } from '../model/links';
import { deletedText, quoteOf } from '../model/message-actions';
import { reactionGroups, type ReactionGroup } from '../model/reactions';
import type { CallRecord, Message } from '../types';
import { callEntryContent } from './call-entry';
import { fileContent, fileContentKey, updateFileStatus } from './file-bubble';

/** What a row needs to know besides its message. */
export type RowContext = {
  highlightId: string | null;
  /** Your user id (null while not known yet: offline at start). */
  meId: string | null;
  /** A person as shown: "You" for you, else their name. */
  nameOf(userId: string): string;
  /** The contact's name and whether they are online (a file's state line says "Waiting for Bob to come online"). */
  contactName: string;
  contactOnline: boolean;
  /** Running transfers' last progress, by message id. */
  transfers: Record<string, TransferProgress>;
};

/**
 * A message's text with its http(s) and mailto links as <a> elements: text nodes and elements
 * made one by one, never markup (peer text is hostile). The links' clicks are the view's.
 */
function bodyNodes(text: string): (Node | string)[] {
  return linkify(text).map((piece) =>
    piece.url === null ? piece.text : el('a', { href: piece.url, class: 'link', rel: 'noopener noreferrer', title: piece.url }, piece.text),
  );
}

/** What the bubble shows, as a key: the bubble is made again when it changes. */
function contentKey(m: Message, ctx: RowContext): string {
  const quote = quoteOf(m, ctx.nameOf);
  return JSON.stringify([m.body, m.deleted, m.edited_at, quote, m.file === null ? null : fileContentKey(m.file), m.call]);
}

const shownContent = new WeakMap<HTMLElement, string>();

/** The quote of the message `m` answers: a button that shows it, or a note when it is not here. */
function quoteElement(m: Message, ctx: RowContext): HTMLElement | null {
  const quote = quoteOf(m, ctx.nameOf);
  if (quote === null) return null;
  if (quote.id === null) return el('div', { class: 'quote missing' }, quote.text);
  return el(
    'button',
    {
      type: 'button',
      class: quote.deleted ? 'quote deleted' : 'quote',
      'data-reply-to': quote.id,
      'aria-label': `In reply to ${quote.author ?? ''}: ${quote.text}. Show the message`,
      title: 'Show the message',
    },
    el('span', { class: 'quote-author' }, quote.author ?? ''),
    el('span', { class: 'quote-text' }, quote.text),
  );
}

function fillBubble(bubble: HTMLElement, m: Message, ctx: RowContext): void {
  const time = el('time', { datetime: new Date(m.sent_at).toISOString(), title: formatDateTime(m.sent_at, Date.now()) }, formatTime(m.sent_at));
  const meta = el('div', { class: 'meta' });
  if (m.edited_at !== null && !m.deleted) {
    meta.append(el('span', { class: 'edited', title: `Edited ${formatDateTime(m.edited_at, Date.now())}` }, 'edited'));
  }
  meta.append(time);
  // A call's entry was never sent: no tick.
  if (m.direction === 'outgoing' && m.call === null) meta.append(el('span', { class: 'tick', role: 'img' }));
  bubble.classList.toggle('deleted', m.deleted);
  if (m.deleted) {
    bubble.classList.remove('file');
    // No text, no quote, no reactions: only that it was there.
    bubble.replaceChildren(el('div', { class: 'body' }, deletedText(m)), meta);
    return;
  }
  const quote = quoteElement(m, ctx);
  // A file: its own kind of bubble (the body is only the file's name); so is a call's entry.
  bubble.classList.toggle('file', m.file !== null);
  bubble.classList.toggle('call', m.call !== null);
  const content =
    m.call !== null ? callEntryContent(m as Message & { call: CallRecord }) : m.file !== null ? fileContent(m) : [el('div', { class: 'body' }, ...bodyNodes(m.body))];
  bubble.replaceChildren(...(quote === null ? [] : [quote]), ...content, meta);
}

function createChip(g: ReactionGroup): HTMLElement {
  return el('button', { type: 'button', class: 'reaction', 'data-emoji': g.emoji }, el('span', { class: 'reaction-emoji' }, g.emoji), ' ', el('span', { class: 'reaction-count' }));
}

function updateChip(node: HTMLElement, g: ReactionGroup): void {
  setText(node.querySelector('.reaction-count') as Element, String(g.count));
  setAttr(node, 'aria-label', g.label);
  setAttr(node, 'title', g.label);
  setAttr(node, 'aria-pressed', String(g.mine));
  node.classList.toggle('mine', g.mine);
}

export function createMessageRow(m: Message): HTMLElement {
  const actions = el('button', { type: 'button', class: 'message-actions', 'aria-label': 'Message actions', 'aria-haspopup': 'menu', title: 'Message actions', tabindex: '-1' }, '\u22EF');
  return el(
    'div',
    { class: `row message ${m.direction}`, 'data-id': m.id, 'data-direction': m.direction, tabindex: '-1' },
    el('div', { class: 'message-main' }, el('div', { class: 'bubble' }), el('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' })),
    actions,
  );
}

export function updateMessageRow(node: HTMLElement, m: Message, ctx: RowContext): void {
  setAttr(node, 'data-state', m.state);
  setAttr(node, 'data-deleted', m.deleted ? 'true' : null);
  node.classList.toggle('highlight', m.id === ctx.highlightId);
  const bubble = node.querySelector('.bubble') as HTMLElement;
  const key = contentKey(m, ctx);
  if (shownContent.get(node) !== key) {
    shownContent.set(node, key);
    fillBubble(bubble, m, ctx);
    // What was made again joins the Tab order as the row is.
    setCurrent(node, node.tabIndex === 0);
  }
  setAttr(node, 'data-file', m.file !== null && !m.deleted ? 'true' : null);
  setAttr(node, 'data-call', m.call !== null && !m.deleted ? m.call.outcome : null);
  if (m.file !== null && !m.deleted) {
    const progress = ctx.transfers[m.id];
    updateFileStatus(bubble, m, { contactName: ctx.contactName, contactOnline: ctx.contactOnline, progress, now: Date.now() }, node.tabIndex === 0);
  }
  const tick = bubble.querySelector('.tick');
  if (tick !== null) {
    const t = tickFor(m.state);
    setText(tick, t.symbol);
    setAttr(tick, 'class', t.className);
    setAttr(tick, 'aria-label', t.label);
    setAttr(tick, 'title', t.label);
  }
  // Chips keep their elements (and the focus) as counts change.
  const reactions = node.querySelector('.reactions') as HTMLElement;
  const groups = m.deleted ? [] : reactionGroups(m, ctx.meId, ctx.nameOf);
  reconcile(reactions, groups, (g) => g.emoji, createChip, updateChip);
  reactions.hidden = groups.length === 0;
  for (const chip of reactions.children) setAttr(chip, 'tabindex', node.tabIndex === 0 ? '0' : '-1');
}

/** Puts the row (and its buttons and links) in the Tab order, or takes it out. */
export function setCurrent(node: HTMLElement, on: boolean): void {
  setAttr(node, 'tabindex', on ? '0' : '-1');
  for (const control of node.querySelectorAll('button, a[href]')) setAttr(control, 'tabindex', on ? '0' : '-1');
}
