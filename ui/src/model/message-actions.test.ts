import { describe, expect, it } from 'vitest';
import { canDeleteForEveryone, canEdit, deletedText, firstWords, lastEditable, messageActions, quoteOf } from './message-actions';
import { LIMITS } from './limits';
import { msg } from './test-fixtures';

const sent = 1_700_000_000_000;
const mine = (id: string, seq: number, extra = {}) => msg(id, seq, { direction: 'outgoing', sender_id: 'alice', sent_at: sent, ...extra });
const names = (id: string) => (id === 'alice' ? 'You' : 'Bob');

describe('what a message offers', () => {
  it('edits and deletions for everyone: your own messages, within 24 hours, not deleted', () => {
    expect(LIMITS.editWindowMs).toBe(24 * 3600 * 1000);
    expect(canEdit(mine('a', 1), sent + 1000)).toBe(true);
    expect(canEdit(mine('a', 1, { state: 'pending' }), sent)).toBe(true);
    expect(canEdit(mine('a', 1), sent + LIMITS.editWindowMs - 1)).toBe(true);
    expect(canEdit(mine('a', 1), sent + LIMITS.editWindowMs)).toBe(false);
    expect(canEdit(mine('a', 1, { deleted: true }), sent)).toBe(false);
    expect(canEdit(msg('b', 2, { sent_at: sent }), sent)).toBe(false);
  });

  it('lists the actions in the menu order; a deleted message only "delete for me"', () => {
    expect(messageActions(mine('a', 1), sent)).toEqual(['react', 'reply', 'edit', 'copy', 'delete-everyone', 'delete-me']);
    expect(messageActions(mine('a', 1), sent + LIMITS.editWindowMs)).toEqual(['react', 'reply', 'copy', 'delete-me']);
    expect(messageActions(msg('b', 2), sent)).toEqual(['react', 'reply', 'copy', 'delete-me']);
    expect(messageActions(msg('b', 2, { deleted: true, body: '' }), sent)).toEqual(['delete-me']);
    expect(messageActions(mine('a', 1, { deleted: true, body: '' }), sent)).toEqual(['delete-me']);
  });

  it('a file is never edited (its text is its name); it can still be deleted for everyone', () => {
    const file = { name: 'a.txt', size: 1, mime: 'text/plain', sha256: '', width: null, height: null, thumbnail: null, state: 'waiting', bytes_done: 0, error: null, path: null, missing: false } as const;
    expect(canEdit(mine('f', 1, { file }), sent)).toBe(false);
    expect(canDeleteForEveryone(mine('f', 1, { file }), sent)).toBe(true);
    expect(messageActions(mine('f', 1, { file }), sent)).toEqual(['react', 'reply', 'copy', 'delete-everyone', 'delete-me']);
    expect(lastEditable([mine('a', 1), mine('f', 2, { file })], sent)?.id).toBe('a');
  });

  it('finds your last message that can still be edited (↑ in an empty composer)', () => {
    const list = [mine('a', 1), msg('b', 2), mine('c', 3, { deleted: true }), msg('d', 4)];
    expect(lastEditable(list, sent)?.id).toBe('a');
    expect(lastEditable(list, sent + LIMITS.editWindowMs)).toBeNull();
    expect(lastEditable([msg('b', 2)], sent)).toBeNull();
  });
});

describe('a call\u2019s entry', () => {
  it('was never sent: nothing to reply to, edit, react to or delete for everyone; only "delete for me"', () => {
    const call = { video: true, outcome: 'answered', duration_ms: 1000 } as const;
    const entry = mine('c', 1, { body: 'Video call', call });
    expect(messageActions(entry, sent)).toEqual(['delete-me']);
    expect(messageActions(msg('d', 2, { body: 'Audio call', call: { ...call, outcome: 'missed' } }), sent)).toEqual(['delete-me']);
    expect(canEdit(entry, sent)).toBe(false);
    expect(canDeleteForEveryone(entry, sent)).toBe(false);
    expect(lastEditable([mine('a', 1), entry], sent)?.id).toBe('a');
  });
});

describe('quotes and placeholders', () => {
  it('shortens to the first words, never cutting an emoji', () => {
    expect(firstWords('hello\n  world')).toBe('hello world');
    expect(firstWords('one two three four five', 12)).toBe('one two…');
    expect(firstWords('abcdefghijklmnop', 6)).toBe('abcde…');
    expect(firstWords('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
  });

  it('says who wrote the quoted message and its first words, or that it is deleted or not here', () => {
    expect(quoteOf(msg('a', 1), names)).toBeNull();
    expect(quoteOf(msg('a', 1, { reply_to: 'q', reply: null }), names)).toEqual({ id: null, author: null, text: 'Original message not available', deleted: false });
    expect(quoteOf(msg('a', 1, { reply_to: 'q', reply: { id: 'q', sender_id: 'bob', text: 'see you at the station at nine', deleted: false } }), names, 20)).toEqual({
      id: 'q',
      author: 'Bob',
      text: 'see you at the…',
      deleted: false,
    });
    expect(quoteOf(msg('a', 1, { reply_to: 'q', reply: { id: 'q', sender_id: 'alice', text: '', deleted: true } }), names)).toEqual({ id: 'q', author: 'You', text: 'Deleted message', deleted: true });
  });

  it('words a deleted message by who deleted it', () => {
    expect(deletedText({ direction: 'outgoing' })).toBe('You deleted this message');
    expect(deletedText({ direction: 'incoming' })).toBe('This message was deleted');
  });
});
