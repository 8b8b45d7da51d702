/**
 * What a person can do with a message (reply, edit, delete, react, copy), and how a reply's
 * quote and a deleted message read. Pure: the conversation's menu and composer ask here.
 */
import { LIMITS } from './limits';
import type { Message } from '../types';

export type MessageAction = 'react' | 'reply' | 'edit' | 'copy' | 'delete-everyone' | 'delete-me';

/**
 * Whether `m` can still be deleted for everyone at `now`: one of ours, not deleted, within
 * `LIMITS.editWindowMs` of sending (our own clock on both ends, as the core counts it).
 */
export function canDeleteForEveryone(m: Message, now: number): boolean {
  return m.direction === 'outgoing' && !m.deleted && m.call === null && now - m.sent_at < LIMITS.editWindowMs;
}

/** Whether `m` can still be edited at `now`: as for deleting for everyone, and not a file (its text is the file's name). */
export function canEdit(m: Message, now: number): boolean {
  return m.file === null && canDeleteForEveryone(m, now);
}

/**
 * The actions a message offers, in the order the menu shows them. A deleted one: only "delete
 * for me"; so for a call's entry, which was never sent (nothing to answer, change or react to).
 */
export function messageActions(m: Message, now: number): MessageAction[] {
  if (m.deleted || m.call !== null) return ['delete-me'];
  const actions: MessageAction[] = ['react', 'reply'];
  if (canEdit(m, now)) actions.push('edit');
  actions.push('copy');
  if (canDeleteForEveryone(m, now)) actions.push('delete-everyone');
  actions.push('delete-me');
  return actions;
}

/** The newest message of ours that can still be edited (ArrowUp in an empty composer), if any. */
export function lastEditable(messages: readonly Message[], now: number): Message | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as Message;
    if (canEdit(m, now)) return m;
  }
  return null;
}

/**
 * The first words of `text` on one line, at most `max` characters (code points: an emoji is
 * never cut in half), cut at a word where there is one, with "…" when shortened.
 */
export function firstWords(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  if (chars.length <= max) return line;
  const cut = chars.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > cut.length / 2 ? cut.slice(0, space) : cut).trimEnd()}\u2026`;
}

/** What a deleted message says in its place. */
export function deletedText(m: Pick<Message, 'direction'>): string {
  return m.direction === 'outgoing' ? 'You deleted this message' : 'This message was deleted';
}

/**
 * A reply's quote as shown above its text: who wrote the quoted message and its first words,
 * "Deleted message", or, when the quoted message is not on this device, that it is not
 * available (no id then: nothing to jump to). Null for a message that is no reply.
 */
export type Quote = { id: string | null; author: string | null; text: string; deleted: boolean };

export function quoteOf(m: Pick<Message, 'reply_to' | 'reply'>, nameOf: (userId: string) => string, max = 60): Quote | null {
  if (m.reply_to === null) return null;
  const r = m.reply;
  if (r === null) return { id: null, author: null, text: 'Original message not available', deleted: false };
  if (r.deleted) return { id: r.id, author: nameOf(r.sender_id), text: 'Deleted message', deleted: true };
  return { id: r.id, author: nameOf(r.sender_id), text: firstWords(r.text, max), deleted: false };
}
