/** Builders shared by the unit tests. */
import type { Message, User } from '../types';

export function user(id: string, extra: Partial<User> = {}): User {
  return {
    id,
    username: id,
    display_name: id[0]?.toUpperCase() + id.slice(1),
    bio: '',
    status: '',
    avatar_url: null,
    created_at: 0,
    ...extra,
  };
}

export function msg(id: string, seq: number, extra: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 'bob',
    direction: 'incoming',
    sender_id: 'bob',
    body: `message ${id}`,
    sent_at: 1_700_000_000_000 + seq * 1000,
    received_at: null,
    state: 'received',
    seq,
    ...extra,
  };
}
