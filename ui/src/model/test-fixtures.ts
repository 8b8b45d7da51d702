/** Builders shared by the unit tests. */
import type { Message, Settings, Snapshot, User } from '../types';

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

/** A signed-in snapshot (alice, online) unless `extra` says otherwise. */
export function snapshot(extra: Partial<Snapshot> = {}): Snapshot {
  return {
    connection: 'online',
    me: user('alice'),
    username: 'alice',
    server: { kind: 'embedded' },
    server_url: null,
    rooms: [],
    error: null,
    recovery_code_pending: false,
    ...extra,
  };
}

/** The default settings unless `extra` says otherwise. */
export function settings(extra: Partial<Settings> = {}): Settings {
  return { server: { kind: 'embedded' }, ice_servers: [], download_dir: null, theme: 'system', notifications: true, keyring: 'os', ...extra };
}
