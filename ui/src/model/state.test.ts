import { describe, expect, it } from 'vitest';
import { initialState, isSignedIn, isTyping, mergeMessages, reduce, totalUnread, unknownUserIds, windowTitle, type Action, type AppState } from './state';
import { msg, safetyNumber, snapshot as snapshotOf, user } from './test-fixtures';
import type { CallView, Contact, FileTransfer, Message, Snapshot } from '../types';

const snapshot: Snapshot = snapshotOf({ server_url: 'http://127.0.0.1:9000' });

const contacts: Contact[] = [
  { user: user('bob'), online: false, route: null, conversation: null },
  {
    user: user('carol'),
    online: true,
    route: null,
    conversation: { id: 'carol', title: 'Carol', last_message: null, unread: 2, updated_at: 5 },
  },
];

function run(state: AppState, ...actions: Action[]): AppState {
  return actions.reduce(reduce, state);
}

function signedIn(): AppState {
  return run(initialState, { type: 'snapshot', snapshot }, { type: 'contacts', contacts });
}

describe('snapshot and contacts', () => {
  it('decides between the sign-in and main screens', () => {
    expect(isSignedIn(snapshot)).toBe(true);
    expect(isSignedIn({ ...snapshot, connection: 'offline', me: null })).toBe(true);
    expect(isSignedIn({ ...snapshot, connection: 'offline', me: null, username: null })).toBe(false);
    expect(isSignedIn({ ...snapshot, connection: 'signed-out' })).toBe(false);
  });

  it('takes the connection, me and the contacts, unread first', () => {
    const s = signedIn();
    expect(s.connection).toBe('online');
    expect(s.me?.username).toBe('alice');
    expect(s.contacts.map((c) => c.user.id)).toEqual(['carol', 'bob']);
    expect(s.contacts[0]?.unread).toBe(2);
  });

  it('follows the recovery code reminder of the snapshots, across signing out', () => {
    expect(initialState.recoveryCodePending).toBe(false);
    let s = reduce(initialState, { type: 'snapshot', snapshot: { ...snapshot, recovery_code_pending: true } });
    expect(s.recoveryCodePending).toBe(true);
    // It belongs to the profile's history, not to the session.
    s = reduce(s, { type: 'event', now: 0, event: { event: 'signed-out' } });
    expect(s.recoveryCodePending).toBe(true);
    s = reduce(s, { type: 'snapshot', snapshot });
    expect(s.recoveryCodePending).toBe(false);
  });

  it('a signed-out snapshot clears the conversation', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' });
    s = reduce(s, { type: 'snapshot', snapshot: { ...snapshot, connection: 'signed-out', me: null } });
    expect(s.open).toBeNull();
    expect(s.contacts).toEqual([]);
  });
});

describe('messages', () => {
  it('an incoming message for another conversation counts as unread and moves the contact up', () => {
    let s = signedIn();
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message', message: msg('m1', 1, { sent_at: 10 }) } });
    const bob = s.contacts.find((c) => c.user.id === 'bob');
    expect(bob?.unread).toBe(1);
    expect(bob?.last?.id).toBe('m1');
    // The same message twice (event + command result) counts once.
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message', message: msg('m1', 1, { sent_at: 10 }) } });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.unread).toBe(1);
  });

  it('a message in the conversation being viewed is not unread and is appended once', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m2', 2), msg('m1', 1)], next: 'c1' } });
    expect(s.open?.messages.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(s.open?.older).toBe('c1');
    s = reduce(s, { type: 'event', now: 0, viewing: 'bob', event: { event: 'message', message: msg('m3', 3) } });
    s = reduce(s, { type: 'event', now: 0, viewing: 'bob', event: { event: 'message', message: msg('m3', 3) } });
    expect(s.open?.messages.map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
    expect(s.contacts.find((c) => c.user.id === 'bob')?.unread).toBe(0);
  });

  it('older pages are prepended and newer pages appended', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' });
    s = reduce(s, { type: 'latest', userId: 'bob', page: { messages: [msg('m5', 5), msg('m4', 4)], next: 'c4' } });
    s = reduce(s, { type: 'older', userId: 'bob', page: { messages: [msg('m3', 3), msg('m2', 2)], next: null } });
    expect(s.open?.messages.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    expect(s.open?.older).toBeNull();
  });

  it('a jump to a search hit loads around it and holds live messages back until the end is loaded', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' });
    s = reduce(s, {
      type: 'around',
      userId: 'bob',
      hit: msg('m10', 10),
      before: { messages: [msg('m9', 9), msg('m8', 8)], next: 'c8' },
      after: { messages: [msg('m11', 11)], next: 'c11' },
    });
    expect(s.open?.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11]);
    expect(s.open?.highlightId).toBe('m10');
    s = reduce(s, { type: 'event', now: 0, viewing: 'bob', event: { event: 'message', message: msg('m99', 99) } });
    expect(s.open?.messages).toHaveLength(4);
    s = reduce(s, { type: 'newer', userId: 'bob', page: { messages: [msg('m12', 12), msg('m99', 99)], next: null } });
    expect(s.open?.newer).toBeNull();
    s = reduce(s, { type: 'event', now: 0, viewing: 'bob', event: { event: 'message', message: msg('m100', 100) } });
    expect(s.open?.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12, 99, 100]);
  });

  it('delivery states only move forward', () => {
    const out = msg('o1', 1, { direction: 'outgoing', sender_id: 'alice', state: 'pending' });
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [], next: null } }, { type: 'sent', message: out });
    const state = (st: Parameters<typeof reduce>[1]) => {
      s = reduce(s, st);
      return s.open?.messages[0]?.state;
    };
    const change = (to: 'sent' | 'delivered' | 'read') => state({ type: 'event', now: 0, event: { event: 'message-state', id: 'o1', conversation_id: 'bob', state: to } });
    expect(s.open?.messages[0]?.state).toBe('pending');
    expect(change('sent')).toBe('sent');
    expect(change('read')).toBe('read');
    expect(change('delivered')).toBe('read');
    expect(s.contacts.find((c) => c.user.id === 'bob')?.last?.state).toBe('read');
  });

  it('mark read clears the unread count and reads incoming messages', () => {
    let s = run(signedIn(), { type: 'open', userId: 'carol', title: 'Carol' }, { type: 'latest', userId: 'carol', page: { messages: [msg('c1', 1, { conversation_id: 'carol' })], next: null } });
    s = reduce(s, { type: 'read', conversationId: 'carol' });
    expect(s.contacts.find((c) => c.user.id === 'carol')?.unread).toBe(0);
    expect(s.open?.messages[0]?.state).toBe('read');
  });

  it('merges without duplicates in seq order', () => {
    expect(mergeMessages([msg('b', 2), msg('a', 1)], [msg('c', 3), msg('a', 1)]).map((m) => m.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('presence, rooms and system lines', () => {
  const peer = { peer_id: 'p-bob', user: user('bob') };

  it('a peer joining marks the contact online and adds a system line to its open conversation', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m1', 1)], next: null } });
    s = reduce(s, { type: 'room-joined', room: { room: 'lobby', peers: [] } });
    s = reduce(s, { type: 'event', now: 1, event: { event: 'peer-joined', room: 'lobby', peer } });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(true);
    expect(s.rooms[0]?.peers).toHaveLength(1);
    expect(s.open?.system.map((l) => l.text)).toEqual(['Bob joined lobby.']);
    expect(s.open?.system[0]?.afterSeq).toBe(1);
    s = reduce(s, { type: 'event', now: 2, event: { event: 'peer-left', room: 'lobby', peer_id: 'p-bob' } });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(false);
    expect(s.open?.system.map((l) => l.text)).toEqual(['Bob joined lobby.', 'Bob left lobby.']);
  });

  it('identity notices go into the contact\'s open conversation; a refused connection is also a notice', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m1', 1)], next: null } });
    s = reduce(s, { type: 'event', now: 1, event: { event: 'identity-new-device', user_id: 'bob', device: 'phone' } });
    s = reduce(s, { type: 'event', now: 2, event: { event: 'identity-changed', user_id: 'bob', device: 'phone', verified: true } });
    s = reduce(s, { type: 'event', now: 3, event: { event: 'identity-changed', user_id: 'carol', device: 'x', verified: false } });
    const texts = s.open?.system.map((l) => l.text) ?? [];
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/new device/);
    expect(texts[1]).toMatch(/wait until you compare safety numbers/);
    s = reduce(s, { type: 'event', now: 4, event: { event: 'identity-mismatch', peer_id: 'p9', user_id: null, reason: 'mismatch' } });
    expect(s.lastError?.code).toBe('identity_mismatch');
    expect(s.open?.system).toHaveLength(2);
  });

  it('leaving a room takes its peers offline unless they are in another room', () => {
    let s = signedIn();
    s = reduce(s, { type: 'room-joined', room: { room: 'a', peers: [peer] } });
    s = reduce(s, { type: 'room-joined', room: { room: 'b', peers: [peer] } });
    s = reduce(s, { type: 'room-left', room: 'a' });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(true);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'room-left', room: 'b' } });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(false);
    expect(s.rooms).toEqual([]);
  });

  it('offline and online add "connection lost" and "restored" lines once', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' });
    s = reduce(s, { type: 'event', now: 1, event: { event: 'offline', reason: 'eof' } });
    s = reduce(s, { type: 'event', now: 2, event: { event: 'offline', reason: 'eof' } });
    expect(s.connection).toBe('offline');
    expect(s.contacts.every((c) => !c.online)).toBe(true);
    s = reduce(s, { type: 'event', now: 3, event: { event: 'online', peer_id: 'p', user: user('alice') } });
    expect(s.connection).toBe('online');
    expect(s.open?.system.map((l) => l.text)).toEqual([
      'Connection lost. Messages you send will go out when it is back.',
      'Connection restored.',
    ]);
  });

  it('offline keeps the rooms listed with nobody in them; the rosters come back with room-joined', () => {
    let s = signedIn();
    s = reduce(s, { type: 'event', now: 0, event: { event: 'room-joined', room: 'lobby', peers: [peer] } });
    s = reduce(s, { type: 'event', now: 0, event: { event: 'room-joined', room: 'random', peers: [] } });
    s = reduce(s, { type: 'event', now: 1, event: { event: 'offline', reason: 'server gone' } });
    expect(s.rooms).toEqual([
      { room: 'lobby', peers: [] },
      { room: 'random', peers: [] },
    ]);
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(false);
    s = reduce(s, { type: 'event', now: 2, event: { event: 'online', peer_id: 'p', user: user('alice') } });
    expect(s.rooms.map((r) => r.room)).toEqual(['lobby', 'random']);
    s = reduce(s, { type: 'event', now: 3, event: { event: 'room-joined', room: 'lobby', peers: [peer] } });
    expect(s.rooms).toEqual([
      { room: 'lobby', peers: [peer] },
      { room: 'random', peers: [] },
    ]);
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(true);
  });

  it('the route of the direct channel: from the contact list, connected events (the best device), gone on disconnect', () => {
    const route = (s: AppState, id = 'bob') => s.contacts.find((c) => c.user.id === id)?.route;
    let s = signedIn();
    expect(route(s)).toBeNull();
    // The contact list says a channel is open, and how it travels.
    s = reduce(s, { type: 'contacts', contacts: contacts.map((c) => (c.user.id === 'bob' ? { ...c, route: 'relayed' } : c)) });
    expect(route(s)).toBe('relayed');
    // Whichever device that was, its channel closing may have been it: hidden.
    s = reduce(s, { type: 'event', now: 1, event: { event: 'disconnected', peer_id: 'p-laptop', user_id: 'bob', reason: 'closed' } });
    expect(route(s)).toBeNull();
    // Two devices: the better route shows; one closing leaves the other's.
    s = reduce(s, { type: 'event', now: 2, event: { event: 'connected', peer_id: 'p-phone', user_id: 'bob', route: 'relayed' } });
    expect(route(s)).toBe('relayed');
    expect(s.contacts.find((c) => c.user.id === 'bob')?.online).toBe(true);
    s = reduce(s, { type: 'event', now: 3, event: { event: 'connected', peer_id: 'p-laptop', user_id: 'bob', route: 'through-nat' } });
    expect(route(s)).toBe('through-nat');
    // A contacts refresh saying a channel is open keeps the ones seen open.
    s = reduce(s, { type: 'contacts', contacts: contacts.map((c) => (c.user.id === 'bob' ? { ...c, route: 'through-nat' } : c)) });
    expect(route(s)).toBe('through-nat');
    s = reduce(s, { type: 'event', now: 4, event: { event: 'disconnected', peer_id: 'p-laptop', user_id: 'bob', reason: 'closed' } });
    expect(route(s)).toBe('relayed');
    // A channel whose user the core forgot is still found by its connection id.
    s = reduce(s, { type: 'event', now: 5, event: { event: 'disconnected', peer_id: 'p-phone', user_id: null, reason: 'closed' } });
    expect(route(s)).toBeNull();
    // Not known how it travels: no label, but the channel counts.
    s = reduce(s, { type: 'event', now: 6, event: { event: 'connected', peer_id: 'p-phone', user_id: 'bob', route: null } });
    expect(route(s)).toBeNull();
    s = reduce(s, { type: 'event', now: 7, event: { event: 'connected', peer_id: 'p-laptop', user_id: 'bob', route: 'direct' } });
    expect(route(s)).toBe('direct');
    expect(route(s, 'carol')).toBeNull();
    // The contact list saying none is open: none is.
    s = reduce(s, { type: 'contacts', contacts });
    expect(route(s)).toBeNull();
  });

  it('lists roster users that the contact list does not know yet', () => {
    const s = reduce(signedIn(), { type: 'room-joined', room: { room: 'a', peers: [peer, { peer_id: 'p-dan', user: user('dan') }] } });
    expect(unknownUserIds(s)).toEqual(['dan']);
  });

  it('session-ended returns to sign-in with a reason and keeps the username', () => {
    const s = reduce(signedIn(), { type: 'event', now: 0, event: { event: 'session-ended' } });
    expect(s.connection).toBe('signed-out');
    expect(s.username).toBe('alice');
    expect(s.signedOutReason).toMatch(/session ended/);
  });
});

describe('navigation', () => {
  it('changes the panel or pane alone, and outlives a session that ended elsewhere', () => {
    let s = reduce(signedIn(), { type: 'nav', change: { panel: 'search', pane: 'detail' } });
    expect(s.nav).toEqual({ panel: 'search', pane: 'detail' });
    expect(reduce(s, { type: 'nav', change: { pane: 'detail' } })).toBe(s);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'session-ended' } });
    expect(s.nav).toEqual({ panel: 'search', pane: 'detail' });
  });
});

describe('theme', () => {
  it('is unknown until the settings are read, and outlives a session', () => {
    expect(initialState.theme).toBeNull();
    let s = reduce(signedIn(), { type: 'theme', theme: 'dark' });
    expect(s.theme).toBe('dark');
    expect(reduce(s, { type: 'theme', theme: 'dark' })).toBe(s);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'signed-out' } });
    expect(s.theme).toBe('dark');
  });
});

describe('the theme previewed in Settings', () => {
  it('shows until saved, and is forgotten on leaving Settings', () => {
    let s = run(signedIn(), { type: 'theme', theme: 'light' }, { type: 'nav', change: { panel: 'settings', pane: 'detail' } });
    s = reduce(s, { type: 'theme-preview', theme: 'dark' });
    expect([s.theme, s.themePreview]).toEqual(['light', 'dark']);
    // Settings left without saving: back to the saved theme.
    const left = reduce(s, { type: 'nav', change: { panel: 'chats', pane: 'list' } });
    expect([left.theme, left.themePreview]).toEqual(['light', null]);
    // Saved: the preview is the setting now.
    const saved = reduce(s, { type: 'theme', theme: 'dark' });
    expect([saved.theme, saved.themePreview]).toEqual(['dark', null]);
    // Moving within Settings (narrow screens) keeps it.
    expect(reduce(s, { type: 'nav', change: { pane: 'list' } }).themePreview).toBe('dark');
  });
});

describe('errors shown', () => {
  it('never shows that a contact is offline: their messages just wait', () => {
    const s = signedIn();
    expect(reduce(s, { type: 'event', now: 0, event: { event: 'error', code: 'unknown_peer', message: 'no peer with that id is online' } })).toBe(s);
    expect(reduce(s, { type: 'snapshot', snapshot: { ...snapshot, error: { code: 'unknown_peer', message: 'x' } } }).lastError).toBeNull();
  });

  it('a connection or delivery error goes once online again, or once a message is delivered', () => {
    const failed: Action = { type: 'event', now: 0, event: { event: 'error', code: 'server_unreachable', message: 'x' } };
    let s = reduce(signedIn(), failed);
    expect(s.lastError?.code).toBe('server_unreachable');
    s = reduce(s, { type: 'event', now: 1, event: { event: 'online', peer_id: 'p', user: user('alice') } });
    expect(s.lastError).toBeNull();
    s = reduce(s, failed);
    s = reduce(s, { type: 'event', now: 2, event: { event: 'message-state', id: 'o1', conversation_id: 'bob', state: 'sent' } });
    expect(s.lastError?.code).toBe('server_unreachable');
    s = reduce(s, { type: 'event', now: 3, event: { event: 'message-state', id: 'o1', conversation_id: 'bob', state: 'delivered' } });
    expect(s.lastError).toBeNull();
    s = reduce(s, failed);
    s = reduce(s, { type: 'event', now: 4, event: { event: 'message', message: msg('m1', 1) } });
    expect(s.lastError).toBeNull();
  });

  it('other errors stay until dismissed', () => {
    let s = reduce(signedIn(), { type: 'event', now: 0, event: { event: 'error', code: 'history_error', message: 'x' } });
    s = reduce(s, { type: 'event', now: 1, event: { event: 'online', peer_id: 'p', user: user('alice') } });
    expect(s.lastError?.code).toBe('history_error');
    expect(reduce(s, { type: 'dismiss-error' }).lastError).toBeNull();
  });
});

describe('unread', () => {
  it('totals the conversations for the window title', () => {
    const s = signedIn();
    expect(totalUnread(s)).toBe(2);
    expect(windowTitle(totalUnread(s))).toBe('(2) Parley');
    expect(windowTitle(0)).toBe('Parley');
  });

  it('marks the first message unread when the conversation opened, until it is closed', () => {
    const page = { messages: [msg('m3', 3), msg('m2', 2), msg('m1', 1, { state: 'read' })], next: null };
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page });
    expect(s.open?.unreadFrom).toBe('m2');
    // Read (looked at) and more arriving while looking: the divider stays where it was.
    s = run(s, { type: 'read', conversationId: 'bob' }, { type: 'event', now: 0, viewing: 'bob', event: { event: 'message', message: msg('m4', 4) } });
    expect(s.open?.unreadFrom).toBe('m2');
    s = run(s, { type: 'close' }, { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m4', 4, { state: 'read' })], next: null } });
    expect(s.open?.unreadFrom).toBeNull();
  });

  it('finds the first unread one by the count when the page comes back already read', () => {
    // Carol had 2 unread; they were marked read before the page loaded.
    const page = { messages: [msg('c3', 3, { conversation_id: 'carol', state: 'read' }), msg('c2', 2, { conversation_id: 'carol', state: 'read' }), msg('c1', 1, { conversation_id: 'carol', state: 'read' })], next: null };
    const s = run(signedIn(), { type: 'open', userId: 'carol', title: 'Carol' }, { type: 'latest', userId: 'carol', page });
    expect(s.open?.unreadAtOpen).toBe(2);
    expect(s.open?.unreadFrom).toBe('c2');
  });

  it('marks a message that arrives while the person is not looking', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m1', 1, { state: 'read' })], next: null } });
    expect(s.open?.unreadFrom).toBeNull();
    s = reduce(s, { type: 'event', now: 0, viewing: null, event: { event: 'message', message: msg('m2', 2) } });
    s = reduce(s, { type: 'event', now: 0, viewing: null, event: { event: 'message', message: msg('m3', 3) } });
    expect(s.open?.unreadFrom).toBe('m2');
  });
});

describe('changed and removed messages', () => {
  const opened = (...messages: Message[]) =>
    run(
      signedIn(),
      { type: 'contacts', contacts: [{ user: user('bob'), online: true, route: null, conversation: { id: 'bob', title: 'Bob', last_message: messages[messages.length - 1] ?? null, unread: 0, updated_at: 1 } }] },
      { type: 'open', userId: 'bob', title: 'Bob' },
      { type: 'latest', userId: 'bob', page: { messages: [...messages].reverse(), next: null } },
    );
  const last = (s: AppState) => s.contacts.find((c) => c.user.id === 'bob')?.last ?? null;

  it('replace or drop the message where it is shown', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' }, { type: 'latest', userId: 'bob', page: { messages: [msg('m2', 2), msg('m1', 1)], next: null } });
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('m1', 1, { body: 'edited', edited_at: 5 }) } });
    expect(s.open?.messages.map((m) => m.body)).toEqual(['edited', 'message m2']);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-removed', id: 'm2', conversation_id: 'bob' } });
    expect(s.open?.messages.map((m) => m.id)).toEqual(['m1']);
  });

  it("a change of the last message shows in the contact list's preview; its delivery state never goes back", () => {
    let s = opened(msg('m1', 1), msg('m2', 2, { direction: 'outgoing', state: 'read' }));
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('m2', 2, { direction: 'outgoing', state: 'sent', body: 'fixed', edited_at: 9 }) } });
    expect(last(s)).toMatchObject({ id: 'm2', body: 'fixed', state: 'read' });
    expect(s.open?.messages[1]).toMatchObject({ body: 'fixed', state: 'read' });
    s = reduce(s, { type: 'changed', message: msg('m2', 2, { direction: 'outgoing', deleted: true, body: '' }) });
    expect(last(s)?.deleted).toBe(true);
  });

  it("replies follow what they quote: its new words, that it was deleted, that it is not here any more", () => {
    const quote = { id: 'm1', sender_id: 'bob', text: 'message m1', deleted: false };
    let s = opened(msg('m1', 1), msg('m2', 2, { direction: 'outgoing', reply_to: 'm1', reply: quote }));
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('m1', 1, { body: 'new words', edited_at: 3 }) } });
    expect(s.open?.messages[1]?.reply).toEqual({ ...quote, text: 'new words' });
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('m1', 1, { body: '', deleted: true }) } });
    expect(s.open?.messages[1]?.reply).toEqual({ ...quote, text: '', deleted: true });
    s = reduce(s, { type: 'removed', conversationId: 'bob', id: 'm1' });
    expect(s.open?.messages.map((m) => m.id)).toEqual(['m2']);
    expect(s.open?.messages[0]?.reply).toBeNull();
    expect(s.open?.messages[0]?.reply_to).toBe('m1');
  });

  it('a removed last message leaves the one before it as the preview (or none until the contacts come again)', () => {
    let s = opened(msg('m1', 1), msg('m2', 2), msg('m3', 3));
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-removed', id: 'm3', conversation_id: 'bob' } });
    expect(last(s)?.id).toBe('m2');
    // Not the last one: the preview stays.
    s = reduce(s, { type: 'removed', conversationId: 'bob', id: 'm1' });
    expect(last(s)?.id).toBe('m2');
    // The conversation is not open: nothing known to take its place.
    s = run(s, { type: 'close' }, { type: 'removed', conversationId: 'bob', id: 'm2' });
    expect(last(s)).toBeNull();
  });

  it('the "New messages" divider and a highlight do not stay on a removed message', () => {
    let s = opened(msg('m1', 1, { state: 'read' }), msg('m2', 2), msg('m3', 3));
    expect(s.open?.unreadFrom).toBe('m2');
    s = reduce(s, { type: 'highlight', userId: 'bob', id: 'm2' });
    expect(s.open?.highlightId).toBe('m2');
    s = reduce(s, { type: 'removed', conversationId: 'bob', id: 'm2' });
    expect(s.open?.unreadFrom).toBe('m3');
    expect(s.open?.highlightId).toBeNull();
    // Another conversation's changes leave this one alone.
    expect(reduce(s, { type: 'removed', conversationId: 'carol', id: 'm3' }).open).toBe(s.open);
    expect(reduce(s, { type: 'highlight', userId: 'carol', id: 'm3' })).toBe(s);
  });
});

describe('file transfers', () => {
  const fileOf = (state: FileTransfer['state']): FileTransfer => ({
    name: 'report.pdf',
    size: 30_000_000,
    mime: 'application/pdf',
    sha256: 'a'.repeat(64),
    width: null,
    height: null,
    thumbnail: null,
    state,
    bytes_done: 0,
    error: null,
    path: null,
    missing: false,
  });
  const progress = (id: string, bytes_done: number, bytes_per_sec = 150_000, resumed_from: number | null = null): Action => ({
    type: 'event',
    now: 7000,
    event: { event: 'transfer-progress', id, conversation_id: 'bob', bytes_done, size: 30_000_000, bytes_per_sec, resumed_from },
  });

  it('keeps the last progress of each transfer: bytes, speed, where a resumed run started, when it came', () => {
    let s = run(signedIn(), progress('f1', 0, 0, null), progress('f2', 12_000_000, 150_000, 9_000_000));
    expect(s.transfers).toEqual({
      f1: { bytesDone: 0, size: 30_000_000, bytesPerSec: 0, resumedFrom: null, at: 7000 },
      f2: { bytesDone: 12_000_000, size: 30_000_000, bytesPerSec: 150_000, resumedFrom: 9_000_000, at: 7000 },
    });
    s = reduce(s, progress('f1', 16_000_000));
    expect(s.transfers.f1?.bytesDone).toBe(16_000_000);
    // Not the messages: the list is not laid out again for a progress event.
    const opened = run(s, { type: 'open', userId: 'bob', title: 'Bob' });
    expect(reduce(opened, progress('f1', 20_000_000)).open).toBe(opened.open);
  });

  it('forgets a transfer once it is over, or its message is gone, and everything at signing out', () => {
    let s = run(signedIn(), progress('f1', 1), progress('f2', 1), progress('f3', 1));
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('f1', 1, { file: fileOf('paused') }) } });
    expect(Object.keys(s.transfers)).toEqual(['f1', 'f2', 'f3']);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-changed', message: msg('f1', 1, { file: fileOf('complete') }) } });
    s = reduce(s, { type: 'changed', message: msg('f2', 2, { file: fileOf('cancelled') }) });
    expect(Object.keys(s.transfers)).toEqual(['f3']);
    s = reduce(s, { type: 'event', now: 0, event: { event: 'message-removed', id: 'f3', conversation_id: 'bob' } });
    expect(s.transfers).toEqual({});
    s = run(s, progress('f4', 1), { type: 'event', now: 0, event: { event: 'signed-out' } });
    expect(s.transfers).toEqual({});
  });
});

describe('typing', () => {
  it('expires after 6 s without news and stops with a message', () => {
    let s = reduce(signedIn(), { type: 'event', now: 1000, event: { event: 'typing', user_id: 'bob', active: true } });
    expect(isTyping(s, 'bob', 6999)).toBe(true);
    expect(isTyping(s, 'bob', 7000)).toBe(false);
    s = reduce(s, { type: 'expire-typing', now: 5000 });
    expect(s.typing.bob).toBe(7000);
    s = reduce(s, { type: 'expire-typing', now: 7000 });
    expect(s.typing.bob).toBeUndefined();
    s = reduce(s, { type: 'event', now: 8000, event: { event: 'typing', user_id: 'bob', active: true } });
    s = reduce(s, { type: 'event', now: 8001, event: { event: 'message', message: msg('m', 1) } });
    expect(isTyping(s, 'bob', 8002)).toBe(false);
  });
});

describe('safety numbers', () => {
  it('belong to the open conversation: unknown when it opens, kept across pages, ignored for another contact', () => {
    let s = run(signedIn(), { type: 'open', userId: 'bob', title: 'Bob' });
    expect(s.open?.safety).toBeNull();
    s = reduce(s, { type: 'safety', userId: 'bob', numbers: [safetyNumber()] });
    expect(s.open?.safety).toEqual([safetyNumber()]);
    s = reduce(s, { type: 'latest', userId: 'bob', page: { messages: [msg('m1', 1)], next: null } });
    expect(s.open?.safety).toEqual([safetyNumber()]);
    // A late answer for a conversation no longer open changes nothing.
    expect(reduce(s, { type: 'safety', userId: 'carol', numbers: [] })).toBe(s);
    s = run(s, { type: 'open', userId: 'carol', title: 'Carol' });
    expect(s.open?.safety).toBeNull();
  });
});

describe('calls', () => {
  const view = (extra: Partial<CallView> = {}): CallView => ({ id: 'c1', user_id: 'bob', outgoing: true, video: true, phase: 'calling', end: null, remote_audio: true, remote_video: true, started_at: 1, answered_at: null, ...extra });
  const event = (call: CallView): Action => ({ type: 'event', now: 5, event: { event: 'call', call } });

  it('keeps the call as the core last described it; its signals change nothing', () => {
    let s = run(signedIn(), event(view()), event(view({ phase: 'ringing-there' })));
    expect(s.call?.phase).toBe('ringing-there');
    const before = s;
    s = run(s, { type: 'event', now: 6, event: { event: 'call-signal', call_id: 'c1', signal: { kind: 'ice', candidate: '', mid: null, mline: null } } });
    expect(s).toBe(before);
  });

  it('an answer to start_call that an event overtook does not take the call back', () => {
    let s = run(signedIn(), event(view({ phase: 'ringing-there' })), { type: 'call', call: view() });
    expect(s.call?.phase).toBe('ringing-there');
    s = run(s, { type: 'call', call: view({ id: 'c2' }) });
    expect(s.call?.id).toBe('c2');
  });

  it('an ended call stays until dismissed (only an ended one, only that one)', () => {
    let s = run(signedIn(), event(view({ phase: 'active', answered_at: 2 })));
    expect(run(s, { type: 'call-dismiss', id: 'c1' }).call?.phase).toBe('active');
    s = run(s, event(view({ phase: 'ended', end: { kind: 'hung-up', by: 'them' } })));
    expect(run(s, { type: 'call-dismiss', id: 'other' }).call?.id).toBe('c1');
    expect(run(s, { type: 'call-dismiss', id: 'c1' }).call).toBeNull();
  });

  it('a call that gave way to theirs (both called at once) is never shown', () => {
    let s = run(signedIn(), event(view()), event(view({ phase: 'ended', end: { kind: 'merged' } })));
    expect(s.call).toBeNull();
    s = run(s, event(view({ id: 'c9', outgoing: false, phase: 'ringing-here' })), event(view({ phase: 'ended', end: { kind: 'merged' } })));
    expect(s.call?.id).toBe('c9');
  });

  it('signing out forgets it; a missed call counts as unread', () => {
    let s = run(signedIn(), event(view()));
    s = run(s, { type: 'event', now: 7, event: { event: 'signed-out' } });
    expect(s.call).toBeNull();
    s = run(signedIn(), { type: 'event', now: 8, event: { event: 'message', message: msg('c1', 9, { body: 'Video call', call: { video: true, outcome: 'missed', duration_ms: null } }) } });
    expect(s.contacts.find((c) => c.user.id === 'bob')?.unread).toBe(1);
  });
});
