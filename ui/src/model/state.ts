/**
 * The app's state and the pure reducer that applies `core-event`s and command results to it.
 * No DOM and no IPC here: views read the state, the controller feeds the reducer.
 */
import { isOlderView } from './calls';
import { isQuietError, isTransientError } from './errors';
import { transferFinished, type TransferProgress } from './files';
import { laterState } from './format';
import { betterRoute, bestRoute } from './route';
import type {
  CallView,
  Connection,
  Contact,
  ErrorInfo,
  CoreEvent,
  RoomSummary,
  Message,
  Page,
  Peer,
  RoomState,
  Route,
  SafetyNumber,
  ServerChoice,
  Snapshot,
  Theme,
  User,
} from '../types';

export const TYPING_TTL_MS = 6000;

export type ContactView = {
  user: User;
  online: boolean;
  unread: number;
  last: Message | null;
  updatedAt: number;
  /** How the direct channel to them travels (the best of the open ones); null: none open, or not known how. */
  route: Route | null;
  /**
   * Where `route` comes from: the channels this window saw open (`connected` events), by the
   * device's connection id, and the route the contact list last gave (`listedRoute`, not tied to
   * a device: any `disconnected` of theirs drops it, as it may have been that device's).
   */
  channels: Record<string, Route | null>;
  listedRoute: Route | null;
};

/** A line in the open conversation that is not a message ("Bob joined", "Connection lost"). */
export type SystemLine = { id: string; text: string; at: number; afterSeq: number };

export type Loading = 'none' | 'initial' | 'older' | 'newer';

export type Panel = 'chats' | 'search' | 'profile' | 'settings';
/** Which of the two panes is the current one (the only one shown on narrow screens). */
export type Pane = 'list' | 'detail';
export type Nav = { panel: Panel; pane: Pane };

export type OpenConversation = {
  userId: string;
  title: string;
  /** Oldest first (by `seq`), without duplicates. */
  messages: Message[];
  system: SystemLine[];
  /** Cursor for the next older page, null when the start of the conversation is loaded. */
  older: string | null;
  /** Cursor for newer messages after a jump into the past, null when the latest are loaded. */
  newer: string | null;
  loading: Loading;
  highlightId: string | null;
  /** The safety numbers of the contact's devices (`safety_numbers`); null until loaded. */
  safety: SafetyNumber[] | null;
  /**
   * The first message that was unread when the conversation was opened (or that arrived while
   * the person was not looking): the "New messages" divider goes above it until it is closed.
   */
  unreadFrom: string | null;
  /** How many messages were unread when it was opened (they may be marked read before they load). */
  unreadAtOpen: number;
};

export type AppState = {
  connection: Connection;
  me: User | null;
  username: string | null;
  server: ServerChoice;
  serverUrl: string | null;
  rooms: RoomState[];
  directory: RoomSummary[];
  contacts: ContactView[];
  open: OpenConversation | null;
  /** user id → when the typing indicator expires (ms). */
  typing: Record<string, number>;
  lastError: ErrorInfo | null;
  /** Why the user is looking at the sign-in screen, when not by choice. */
  signedOutReason: string | null;
  nextSystemId: number;
  /** What the main screen shows; which screen is shown follows from `isSignedIn`. */
  nav: Nav;
  /** The theme setting; null until the settings are read. */
  theme: Theme | null;
  /** A theme chosen in Settings and not saved yet: shown meanwhile, forgotten on leaving Settings. */
  themePreview: Theme | null;
  /** The history's recovery code has not been confirmed as saved yet (the main screen asks). */
  recoveryCodePending: boolean;
  /**
   * Running file transfers by message id: their last `transfer-progress` event (bytes done,
   * speed, where a resumed run started, when it came). Dropped once the transfer is over.
   */
  transfers: Record<string, TransferProgress>;
  /** The call going on or ringing, as the core last described it; an ended one until dismissed. */
  call: CallView | null;
};

export const initialState: AppState = {
  connection: 'signed-out',
  me: null,
  username: null,
  server: { kind: 'embedded' },
  serverUrl: null,
  rooms: [],
  directory: [],
  contacts: [],
  open: null,
  typing: {},
  lastError: null,
  signedOutReason: null,
  nextSystemId: 1,
  nav: { panel: 'chats', pane: 'list' },
  theme: null,
  themePreview: null,
  recoveryCodePending: false,
  transfers: {},
  call: null,
};

export type Action =
  | { type: 'snapshot'; snapshot: Snapshot }
  /** `viewing`: the conversation the user is looking at (visible and focused), if any. */
  | { type: 'event'; event: CoreEvent; now: number; viewing?: string | null }
  | { type: 'contacts'; contacts: Contact[] }
  | { type: 'directory'; rooms: RoomSummary[] }
  | { type: 'room-joined'; room: RoomState }
  | { type: 'room-left'; room: string }
  | { type: 'open'; userId: string; title: string }
  | { type: 'close' }
  | { type: 'loading'; userId: string; loading: Loading }
  /** The newest page (newest first), replacing what was loaded. */
  | { type: 'latest'; userId: string; page: Page }
  | { type: 'older'; userId: string; page: Page }
  /** Newer messages after a jump (oldest first). */
  | { type: 'newer'; userId: string; page: Page }
  /** A search hit with the pages before (newest first) and after it (oldest first). */
  | { type: 'around'; userId: string; hit: Message; before: Page; after: Page }
  | { type: 'sent'; message: Message }
  /** A message as it now is after our own edit, deletion for everyone or reaction (the command's answer). */
  | { type: 'changed'; message: Message }
  /** A message deleted on this device only (ours: the command succeeded). */
  | { type: 'removed'; conversationId: string; id: string }
  /** Marks a message of the open conversation (a reply's quote was followed to it); null: none. */
  | { type: 'highlight'; userId: string; id: string | null }
  | { type: 'read'; conversationId: string }
  /** The open contact's safety numbers, (re)loaded. */
  | { type: 'safety'; userId: string; numbers: SafetyNumber[] }
  | { type: 'expire-typing'; now: number }
  | { type: 'me'; user: User }
  | { type: 'dismiss-error' }
  | { type: 'theme'; theme: Theme }
  /** Settings shows a theme before it is saved (null: back to the saved one). */
  | { type: 'theme-preview'; theme: Theme | null }
  | { type: 'nav'; change: Partial<Nav> }
  /** A call as a command answered it (`start_call`): an event about it may have overtaken the answer. */
  | { type: 'call'; call: CallView }
  /** The person closed how an ended call ended. */
  | { type: 'call-dismiss'; id: string };

/** Newest-first or oldest-first lists merged into one oldest-first list without duplicates. */
export function mergeMessages(a: readonly Message[], b: readonly Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) {
    const old = byId.get(m.id);
    byId.set(m.id, old === undefined ? m : { ...m, state: laterState(old.state, m.state) });
  }
  return [...byId.values()].sort((x, y) => x.seq - y.seq || x.sent_at - y.sent_at);
}

export function sortContacts(contacts: ContactView[]): ContactView[] {
  return [...contacts].sort(
    (a, b) =>
      Number(b.unread > 0) - Number(a.unread > 0) ||
      b.updatedAt - a.updatedAt ||
      displayName(a.user).localeCompare(displayName(b.user)),
  );
}

export function displayName(user: User): string {
  return user.display_name.trim() !== '' ? user.display_name : user.username;
}

function inRooms(rooms: readonly RoomState[], userId: string): boolean {
  return rooms.some((r) => r.peers.some((p) => p.user.id === userId));
}

function findPeer(rooms: readonly RoomState[], room: string, peerId: string): Peer | undefined {
  return rooms.find((r) => r.room === room)?.peers.find((p) => p.peer_id === peerId);
}

function setOnline(contacts: ContactView[], userId: string, online: boolean): ContactView[] {
  return contacts.map((c) => (c.user.id === userId && c.online !== online ? { ...c, online } : c));
}

function updateUser(contacts: ContactView[], user: User): ContactView[] {
  return contacts.map((c) => (c.user.id === user.id ? { ...c, user } : c));
}

/** A contact with its channels changed, and the route shown worked out again from them. */
function withChannels(c: ContactView, channels: Record<string, Route | null>, listedRoute: Route | null): ContactView {
  return { ...c, channels, listedRoute, route: betterRoute(listedRoute, bestRoute(Object.values(channels))) };
}

/** A direct channel to one of `userId`'s devices opened (`route`: how it travels, null when not known). */
function channelOpened(contacts: ContactView[], userId: string, peerId: string, route: Route | null): ContactView[] {
  return contacts.map((c) => (c.user.id === userId ? withChannels(c, { ...c.channels, [peerId]: route }, c.listedRoute) : c));
}

/**
 * The channel `peerId` closed: it goes from its contact (found by the channel when the core no
 * longer knows whose it was), and so does the contact list's route, which may have been its.
 */
function channelClosed(contacts: ContactView[], userId: string | null, peerId: string): ContactView[] {
  return contacts.map((c) => {
    if (userId === null ? !Object.hasOwn(c.channels, peerId) : c.user.id !== userId) return c;
    if (!Object.hasOwn(c.channels, peerId) && c.listedRoute === null) return c;
    const channels = { ...c.channels };
    delete channels[peerId];
    return withChannels(c, channels, null);
  });
}

function lastSeq(open: OpenConversation): number {
  return open.messages[open.messages.length - 1]?.seq ?? -Infinity;
}

function addSystem(state: AppState, text: string, now: number, userId?: string): AppState {
  const open = state.open;
  if (open === null || (userId !== undefined && open.userId !== userId)) return state;
  const line: SystemLine = { id: `sys-${state.nextSystemId}`, text, at: now, afterSeq: lastSeq(open) };
  return { ...state, nextSystemId: state.nextSystemId + 1, open: { ...open, system: [...open.system, line] } };
}

function withOpen(state: AppState, userId: string, f: (open: OpenConversation) => OpenConversation): AppState {
  if (state.open === null || state.open.userId !== userId) return state;
  return { ...state, open: f(state.open) };
}

function contactName(state: AppState, userId: string, fallback?: User): string {
  const c = state.contacts.find((x) => x.user.id === userId);
  if (c !== undefined) return displayName(c.user);
  return fallback !== undefined ? displayName(fallback) : 'Someone';
}

/** A message we sent or received: the contact list, the open conversation and typing. */
function applyMessage(state: AppState, message: Message, viewing: string | null): AppState {
  const conv = message.conversation_id;
  const incoming = message.direction === 'incoming';
  let found = false;
  const contacts = state.contacts.map((c) => {
    if (c.user.id !== conv) return c;
    found = true;
    const isNewer = c.last === null || message.seq >= c.last.seq || c.last.id === message.id;
    const already = c.last?.id === message.id;
    return {
      ...c,
      last: isNewer ? message : c.last,
      updatedAt: Math.max(c.updatedAt, message.sent_at),
      unread: incoming && !already && viewing !== conv && message.state !== 'read' ? c.unread + 1 : c.unread,
    };
  });
  let next: AppState = { ...state, contacts: found ? sortContacts(contacts) : state.contacts };
  // A message arrived: whatever the connection's trouble was, it is over.
  if (incoming) next = clearTransientError(next);
  if (incoming && next.typing[conv] !== undefined) {
    const typing = { ...next.typing };
    delete typing[conv];
    next = { ...next, typing };
  }
  // After a jump into the past the newest messages aren't loaded: they come with scrolling.
  return withOpen(next, conv, (open) => {
    if (open.newer !== null || open.loading === 'initial') return open;
    const unseen = incoming && viewing !== conv && message.state !== 'read' && open.unreadFrom === null;
    return { ...open, messages: mergeMessages(open.messages, [message]), unreadFrom: unseen ? message.id : open.unreadFrom };
  });
}

/** What a reply shows of the message it quotes, after that message changed. */
function requote(m: Message, quoted: Message): Message {
  if (m.reply === null || m.reply.id !== quoted.id) return m;
  const reply = { ...m.reply, text: quoted.deleted ? '' : quoted.body, deleted: quoted.deleted };
  return reply.text === m.reply.text && reply.deleted === m.reply.deleted ? m : { ...m, reply };
}

/**
 * A message edited, deleted for everyone or reacted to (here or by the contact): the copy shown
 * is replaced (its delivery state never goes back), the contact list's preview too when it is
 * the last one, and the quotes of it in replies follow.
 */
function applyChanged(state: AppState, message: Message): AppState {
  const m = message;
  const contacts = state.contacts.map((c) => (c.user.id === m.conversation_id && c.last?.id === m.id ? { ...c, last: { ...m, state: laterState(c.last.state, m.state) } } : c));
  let next = contacts.some((c, i) => c !== state.contacts[i]) ? { ...state, contacts } : state;
  // A transfer that is over has no progress to show any more.
  if (m.file !== null && transferFinished(m.file)) next = forgetTransfer(next, m.id);
  return withOpen(next, m.conversation_id, (open) => {
    if (!open.messages.some((x) => x.id === m.id || x.reply?.id === m.id)) return open;
    const messages = open.messages.map((x) => (x.id === m.id ? { ...m, state: laterState(x.state, m.state) } : requote(x, m)));
    return { ...open, messages };
  });
}

/** Drops a transfer's progress (it is over, or its message is gone). */
function forgetTransfer(state: AppState, id: string): AppState {
  if (state.transfers[id] === undefined) return state;
  const transfers = { ...state.transfers };
  delete transfers[id];
  return { ...state, transfers };
}

/**
 * A message deleted on this device only: gone from the list, replies to it say the original is
 * not available (as the core answers them from now on), and where it was the contact's last
 * message the one before it (when loaded) takes its place; otherwise the controller asks the
 * contacts again.
 */
function applyRemoved(state: AppState, conversationId: string, id: string): AppState {
  const open = state.open !== null && state.open.userId === conversationId ? state.open : null;
  const contacts = state.contacts.map((c) => {
    if (c.user.id !== conversationId || c.last?.id !== id) return c;
    // Only the loaded newest messages say what came last (not after a jump into the past).
    const rest = open !== null && open.newer === null ? open.messages.filter((x) => x.id !== id) : [];
    return { ...c, last: rest[rest.length - 1] ?? null };
  });
  const next = forgetTransfer(contacts.some((c, i) => c !== state.contacts[i]) ? { ...state, contacts } : state, id);
  return withOpen(next, conversationId, (o) => {
    if (!o.messages.some((x) => x.id === id || x.reply?.id === id)) return o;
    // The "New messages" divider moves on to the message after it.
    const at = o.messages.findIndex((x) => x.id === id);
    const after = at < 0 ? undefined : o.messages[at + 1];
    return {
      ...o,
      messages: o.messages.filter((x) => x.id !== id).map((x) => (x.reply?.id === id ? { ...x, reply: null } : x)),
      unreadFrom: o.unreadFrom === id ? (after?.id ?? null) : o.unreadFrom,
      highlightId: o.highlightId === id ? null : o.highlightId,
    };
  });
}

/**
 * The first message that was unread when the conversation opened, among `messages` (a page): the
 * oldest incoming one not read yet, or the `unread`-th newest incoming one (the count when it
 * opened: reading it may have been quicker than loading it), whichever is older.
 */
function firstUnread(messages: readonly Message[], unread: number): string | null {
  const incoming = messages.filter((m) => m.direction === 'incoming').sort((a, b) => a.seq - b.seq);
  const byState = incoming.find((m) => m.state !== 'read');
  const byCount = unread > 0 ? incoming[Math.max(0, incoming.length - unread)] : undefined;
  const first = byState === undefined ? byCount : byCount === undefined || byState.seq <= byCount.seq ? byState : byCount;
  return first?.id ?? null;
}

/** The error shown goes away when it was about the connection or delivery, which works again. */
function clearTransientError(state: AppState): AppState {
  return state.lastError !== null && isTransientError(state.lastError.code) ? { ...state, lastError: null } : state;
}

function applyEvent(state: AppState, event: CoreEvent, now: number, viewing: string | null): AppState {
  switch (event.event) {
    case 'online': {
      const wasOffline = state.connection === 'offline';
      const next = clearTransientError({ ...state, connection: 'online', me: event.user, signedOutReason: null });
      return wasOffline ? addSystem(next, 'Connection restored.', now) : next;
    }
    case 'offline': {
      if (state.connection === 'signed-out') return state;
      // The rooms stay listed (they belong to the profile and are rejoined on reconnecting), with
      // nobody in them while we can't know: their rosters come back with the room-joined events.
      const next: AppState = {
        ...state,
        connection: 'offline',
        rooms: state.rooms.map((r) => (r.peers.length > 0 ? { ...r, peers: [] } : r)),
        contacts: state.contacts.map((c) => (c.online ? { ...c, online: false } : c)),
        typing: {},
      };
      return state.connection === 'offline'
        ? next
        : addSystem(next, 'Connection lost. Messages you send will go out when it is back.', now);
    }
    case 'session-ended':
    case 'signed-out':
      return {
        ...initialState,
        nav: state.nav,
        theme: state.theme,
        // The profile's, not the session's.
        recoveryCodePending: state.recoveryCodePending,
        username: state.me?.username ?? state.username,
        server: state.server,
        serverUrl: state.serverUrl,
        signedOutReason: event.event === 'session-ended' ? 'Your session ended. Sign in again.' : null,
      };
    case 'room-joined':
      return joinRoom(state, { room: event.room, peers: event.peers });
    case 'room-left':
      return leaveRoom(state, event.room);
    case 'peer-joined': {
      const rooms = state.rooms.map((r) =>
        r.room === event.room
          ? { ...r, peers: [...r.peers.filter((p) => p.peer_id !== event.peer.peer_id), event.peer] }
          : r,
      );
      const next: AppState = {
        ...state,
        rooms,
        contacts: updateUser(setOnline(state.contacts, event.peer.user.id, true), event.peer.user),
      };
      return addSystem(next, `${contactName(state, event.peer.user.id, event.peer.user)} joined ${event.room}.`, now, event.peer.user.id);
    }
    case 'peer-left': {
      const peer = findPeer(state.rooms, event.room, event.peer_id);
      const rooms = state.rooms.map((r) =>
        r.room === event.room ? { ...r, peers: r.peers.filter((p) => p.peer_id !== event.peer_id) } : r,
      );
      if (peer === undefined) return { ...state, rooms };
      const userId = peer.user.id;
      const next: AppState = { ...state, rooms, contacts: setOnline(state.contacts, userId, inRooms(rooms, userId)) };
      return addSystem(next, `${contactName(state, userId, peer.user)} left ${event.room}.`, now, userId);
    }
    case 'peer-updated': {
      const rooms = state.rooms.map((r) =>
        r.room === event.room
          ? { ...r, peers: r.peers.map((p) => (p.peer_id === event.peer.peer_id ? event.peer : p)) }
          : r,
      );
      const next: AppState = { ...state, rooms, contacts: updateUser(state.contacts, event.peer.user) };
      return withOpen(next, event.peer.user.id, (open) => ({ ...open, title: displayName(event.peer.user) }));
    }
    case 'connected':
      return { ...state, contacts: channelOpened(setOnline(state.contacts, event.user_id, true), event.user_id, event.peer_id, event.route ?? null) };
    case 'identity-changed': {
      const name = contactName(state, event.user_id);
      const text = event.verified
        ? `${name}’s security key changed. Messages to them wait until you compare safety numbers again and accept the change.`
        : `${name}’s security key changed (a reinstall or a new keyring, or someone pretending to be them). Compare safety numbers to be sure.`;
      return addSystem(state, text, now, event.user_id);
    }
    case 'identity-new-device':
      return addSystem(state, `${contactName(state, event.user_id)} is using a new device.`, now, event.user_id);
    case 'identity-mismatch': {
      const who = event.user_id === null ? 'a contact' : contactName(state, event.user_id);
      const message = `A connection claiming to be ${who} could not prove it, so it was refused and nothing it carried was accepted. Someone between you (perhaps the server) may be intercepting.`;
      const next: AppState = { ...state, lastError: { code: 'identity_mismatch', message } };
      return event.user_id === null ? next : addSystem(next, message, now, event.user_id);
    }
    case 'disconnected': {
      const contacts = channelClosed(state.contacts, event.user_id, event.peer_id);
      // A channel whose peer the core no longer knows changes nobody's presence.
      if (event.user_id === null) return { ...state, contacts };
      return { ...state, contacts: setOnline(contacts, event.user_id, inRooms(state.rooms, event.user_id)) };
    }
    case 'message':
      return applyMessage(state, event.message, viewing);
    case 'message-state': {
      const bump = (m: Message): Message =>
        m.id === event.id ? { ...m, state: laterState(m.state, event.state) } : m;
      const contacts = state.contacts.map((c) =>
        c.user.id === event.conversation_id && c.last?.id === event.id ? { ...c, last: bump(c.last) } : c,
      );
      // Delivered: the way to the contact works, whatever said otherwise before.
      const base = event.state === 'delivered' ? clearTransientError({ ...state, contacts }) : { ...state, contacts };
      return withOpen(base, event.conversation_id, (open) => ({
        ...open,
        messages: open.messages.map(bump),
      }));
    }
    case 'message-changed':
      return applyChanged(state, event.message);
    case 'message-removed':
      return applyRemoved(state, event.conversation_id, event.id);
    case 'transfer-progress': {
      const progress: TransferProgress = {
        bytesDone: event.bytes_done,
        size: event.size,
        bytesPerSec: event.bytes_per_sec,
        resumedFrom: event.resumed_from,
        at: now,
      };
      return { ...state, transfers: { ...state.transfers, [event.id]: progress } };
    }
    case 'call':
      // A call that gave way to the other person's, placed at the same moment: never shown
      // (their call follows at once).
      if (event.call.end?.kind === 'merged') return state.call?.id === event.call.id ? { ...state, call: null } : state;
      return { ...state, call: event.call };
    // For the page's media connection (the call controller's business), not for the state.
    case 'call-signal':
      return state;
    case 'typing': {
      const typing = { ...state.typing };
      if (event.active) typing[event.user_id] = now + TYPING_TTL_MS;
      else delete typing[event.user_id];
      return { ...state, typing };
    }
    case 'error':
      // An offline contact is normal (their messages wait): no news for the person.
      if (isQuietError(event.code)) return state;
      return { ...state, lastError: { code: event.code, message: event.message } };
  }
}

function joinRoom(state: AppState, room: RoomState): AppState {
  const rooms = [...state.rooms.filter((r) => r.room !== room.room), room].sort((a, b) =>
    a.room.localeCompare(b.room),
  );
  let contacts = state.contacts;
  for (const p of room.peers) contacts = updateUser(setOnline(contacts, p.user.id, true), p.user);
  return { ...state, rooms, contacts };
}

function leaveRoom(state: AppState, room: string): AppState {
  const left = state.rooms.find((r) => r.room === room);
  const rooms = state.rooms.filter((r) => r.room !== room);
  let contacts = state.contacts;
  for (const p of left?.peers ?? []) contacts = setOnline(contacts, p.user.id, inRooms(rooms, p.user.id));
  return { ...state, rooms, contacts };
}

function fromContact(c: Contact, old: ContactView | undefined): ContactView {
  const listed = c.route ?? null;
  const view: ContactView = {
    user: c.user,
    online: c.online,
    unread: c.conversation?.unread ?? 0,
    last: c.conversation?.last_message ?? old?.last ?? null,
    updatedAt: c.conversation?.updated_at ?? old?.updatedAt ?? 0,
    route: null,
    channels: {},
    listedRoute: null,
  };
  // No channel open, says the core: none of those seen open is any more.
  return withChannels(view, listed === null ? {} : (old?.channels ?? {}), listed);
}

export function reduce(state: AppState, action: Action): AppState {
  switch (action.type) {
    case 'snapshot': {
      const s = action.snapshot;
      const signedOut = s.connection === 'signed-out';
      return {
        ...state,
        connection: s.connection,
        me: s.me,
        username: s.username,
        server: s.server,
        serverUrl: s.server_url,
        rooms: s.rooms,
        lastError: s.error !== null && isQuietError(s.error.code) ? null : s.error,
        recoveryCodePending: s.recovery_code_pending,
        ...(signedOut ? { contacts: [], open: null, directory: [], typing: {}, transfers: {} } : { signedOutReason: null }),
      };
    }
    case 'event':
      return applyEvent(state, action.event, action.now, action.viewing ?? null);
    case 'contacts': {
      const old = new Map(state.contacts.map((c) => [c.user.id, c]));
      const contacts = action.contacts
        .filter((c) => c.user.id !== state.me?.id)
        .map((c) => fromContact(c, old.get(c.user.id)));
      return { ...state, contacts: sortContacts(contacts) };
    }
    case 'directory':
      return { ...state, directory: action.rooms };
    case 'room-joined':
      return joinRoom(state, action.room);
    case 'room-left':
      return leaveRoom(state, action.room);
    case 'open':
      return {
        ...state,
        open: {
          userId: action.userId,
          title: action.title,
          messages: [],
          system: [],
          older: null,
          newer: null,
          loading: 'initial',
          highlightId: null,
          safety: null,
          unreadFrom: null,
          unreadAtOpen: state.contacts.find((c) => c.user.id === action.userId)?.unread ?? 0,
        },
      };
    case 'close':
      return { ...state, open: null };
    case 'loading':
      return withOpen(state, action.userId, (open) => ({ ...open, loading: action.loading }));
    case 'latest':
      return withOpen(state, action.userId, (open) => ({
        ...open,
        messages: mergeMessages([], action.page.messages),
        older: action.page.next,
        newer: null,
        loading: 'none',
        highlightId: null,
        unreadFrom: open.unreadFrom ?? firstUnread(action.page.messages, open.unreadAtOpen),
      }));
    case 'older':
      return withOpen(state, action.userId, (open) => ({
        ...open,
        messages: mergeMessages(action.page.messages, open.messages),
        older: action.page.next,
        loading: 'none',
      }));
    case 'newer':
      return withOpen(state, action.userId, (open) => ({
        ...open,
        messages: mergeMessages(open.messages, action.page.messages),
        newer: action.page.next,
        loading: 'none',
      }));
    case 'around':
      return withOpen(state, action.userId, (open) => ({
        ...open,
        messages: mergeMessages([], [...action.before.messages, action.hit, ...action.after.messages]),
        system: [],
        older: action.before.next,
        newer: action.after.next,
        loading: 'none',
        highlightId: action.hit.id,
        unreadFrom: open.unreadFrom ?? firstUnread([...action.before.messages, action.hit, ...action.after.messages], open.unreadAtOpen),
      }));
    case 'sent':
      return applyMessage(state, action.message, null);
    case 'changed':
      return applyChanged(state, action.message);
    case 'removed':
      return applyRemoved(state, action.conversationId, action.id);
    case 'highlight':
      return withOpen(state, action.userId, (open) => (open.highlightId === action.id ? open : { ...open, highlightId: action.id }));
    case 'read': {
      const contacts = state.contacts.map((c) =>
        c.user.id === action.conversationId && c.unread !== 0 ? { ...c, unread: 0 } : c,
      );
      return withOpen({ ...state, contacts }, action.conversationId, (open) => ({
        ...open,
        messages: open.messages.map((m) =>
          m.direction === 'incoming' && m.state !== 'read' ? { ...m, state: 'read' } : m,
        ),
      }));
    }
    case 'safety':
      return withOpen(state, action.userId, (open) => ({ ...open, safety: action.numbers }));
    case 'expire-typing': {
      const entries = Object.entries(state.typing);
      const live = entries.filter(([, until]) => until > action.now);
      return live.length === entries.length ? state : { ...state, typing: Object.fromEntries(live) };
    }
    case 'me':
      return { ...state, me: action.user };
    case 'dismiss-error':
      return { ...state, lastError: null };
    case 'theme':
      // Saved: what was previewed is now the setting.
      return state.theme === action.theme && state.themePreview === null ? state : { ...state, theme: action.theme, themePreview: null };
    case 'theme-preview':
      return state.themePreview === action.theme ? state : { ...state, themePreview: action.theme };
    case 'call':
      return isOlderView(state.call, action.call) ? state : { ...state, call: action.call };
    case 'call-dismiss':
      return state.call?.id === action.id && state.call.phase === 'ended' ? { ...state, call: null } : state;
    case 'nav': {
      const nav = { ...state.nav, ...action.change };
      if (nav.panel === state.nav.panel && nav.pane === state.nav.pane) return state;
      // Leaving Settings without saving: the theme goes back to the saved one.
      return { ...state, nav, themePreview: nav.panel === 'settings' ? state.themePreview : null };
    }
  }
}

/** Whether a snapshot or state means the main screen: signed in, or offline with a known user. */
export function isSignedIn(s: { connection: string; me: unknown; username: string | null }): boolean {
  return s.connection !== 'signed-out' && (s.me !== null || s.username !== null);
}

/** Unread messages over all conversations. */
export function totalUnread(state: Pick<AppState, 'contacts'>): number {
  return state.contacts.reduce((n, c) => n + c.unread, 0);
}

/** The window's title: "(3) Parley" while there are unread messages, else "Parley". */
export function windowTitle(unread: number): string {
  return unread > 0 ? `(${unread}) Parley` : 'Parley';
}

/** Whether `userId` is typing now. */
export function isTyping(state: AppState, userId: string, now: number): boolean {
  const until = state.typing[userId];
  return until !== undefined && until > now;
}

/** Users in the contact list or any joined room whom the contact list doesn't know yet. */
export function unknownUserIds(state: AppState): string[] {
  const known = new Set(state.contacts.map((c) => c.user.id));
  const ids = new Set<string>();
  for (const r of state.rooms) for (const p of r.peers) if (!known.has(p.user.id) && p.user.id !== state.me?.id) ids.add(p.user.id);
  return [...ids];
}

export function createStore(reducer = reduce, initial: AppState = initialState) {
  let state = initial;
  const listeners = new Set<(state: AppState, prev: AppState) => void>();
  return {
    get: () => state,
    dispatch(action: Action): void {
      const prev = state;
      state = reducer(state, action);
      if (state !== prev) for (const l of listeners) l(state, prev);
    },
    subscribe(listener: (state: AppState, prev: AppState) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type Store = ReturnType<typeof createStore>;
