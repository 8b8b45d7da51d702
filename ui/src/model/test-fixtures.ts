/** Builders shared by the unit tests. */
import type { Message, SafetyNumber, Settings, Snapshot, User } from '../types';

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
    reply_to: null,
    edited_at: null,
    deleted: false,
    reactions: [],
    reply: null,
    file: null,
    call: null,
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
  return { server: { kind: 'embedded' }, ice_servers: [], download_dir: null, auto_accept_mib: 100, theme: 'system', notifications: true, keyring: 'os', let_others_join: false, ...extra };
}

/** Bob's laptop, met and unverified, unless `extra` says otherwise. */
export function safetyNumber(extra: Partial<SafetyNumber> = {}): SafetyNumber {
  return {
    user_id: 'bob',
    device: 'laptop',
    number: '30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131',
    verified: false,
    changed: false,
    qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
    ...extra,
  };
}
