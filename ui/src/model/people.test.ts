import { describe, expect, it } from 'vitest';
import { findUser, senderName } from './people';
import { initialState, type AppState } from './state';
import { msg, user } from './test-fixtures';

const state: AppState = {
  ...initialState,
  me: user('alice'),
  contacts: [{ user: user('bob', { display_name: 'Bob B.' }), online: true, unread: 0, last: null, updatedAt: 0, route: null, channels: {}, listedRoute: null }],
  rooms: [{ room: 'lobby', peers: [{ peer_id: 'p1', user: user('dave', { display_name: '' }) }] }],
};

describe('people', () => {
  it('finds a profile among the contacts, the rosters and yourself', () => {
    expect(findUser(state, 'bob')?.display_name).toBe('Bob B.');
    expect(findUser(state, 'dave')?.username).toBe('dave');
    expect(findUser(state, 'alice')?.id).toBe('alice');
    expect(findUser(state, 'nobody')).toBeNull();
  });

  it('names who wrote a message: you, or the sender', () => {
    expect(senderName(state, msg('a', 1, { direction: 'outgoing', sender_id: 'alice' }), 'Bob B.')).toBe('You');
    expect(senderName(state, msg('b', 2, { sender_id: 'bob' }), 'whatever')).toBe('Bob B.');
    // No display name: the username.
    expect(senderName(state, msg('c', 3, { sender_id: 'dave', conversation_id: 'dave' }), 'x')).toBe('dave');
    expect(senderName(state, msg('d', 4, { sender_id: 'erin', conversation_id: 'erin' }), 'Erin')).toBe('Erin');
  });
});
