/**
 * A fake Rust side for the browser tests: implements the commands of docs/app-ipc.md over
 * in-memory users and messages, through `mockIPC` from @tauri-apps/api/mocks, then loads the
 * app. Tests drive it through `window.__parleyMock`.
 *
 * URL parameters: `session=online|offline|none` (what restore_session finds, default none),
 * `history=N` (N messages with Bob), `tauri=0` (do not pretend to be Tauri),
 * `startup=keyring_unavailable|history_locked|<code>` (the profile does not open at start:
 * every core command fails with `not_started` until `retry_startup` or `unlock_history` opens
 * it), `recovery=pending` (the recovery code is not saved yet), `theme=light|dark` (the saved
 * theme setting), `kernel=0` (no kernel keyring to switch to), `identity=changed` (Bob is verified
 * and his laptop proved a new key since: sending to him is held until `accept_identity`),
 * `avatars=1` (Alice and Bob have avatars), `avatars=late` (they do, but fetching one fails until
 * the connection is online, as before the session is up), `sharing=1` ("Let others join" is on:
 * this device's server is open to others), `hosting=0` (another window hosts "This device":
 * `set_sharing(true)` fails with `not_hosting`), `route=direct|through-nat|relayed` (a direct
 * channel to Bob's laptop is open from the start, travelling that way: `contacts` says so),
 * `discover=none|error` (what `discover_servers` finds: nobody, or `discovery_unavailable`;
 * by default two servers, see `DISCOVERED`).
 *
 * Servers (sign-in and sign-up): an address with "unreachable" in it can't be reached;
 * `https://192.168.1.20:7891` presents a certificate no authority vouches for
 * (`untrusted_certificate` with its `fingerprint` until `trust_server` pins it);
 * `https://192.168.1.66:7891` presents another certificate than the one pinned for it
 * (`certificate_changed`); plain `http://` to another computer fails with `plain_http` until
 * `allow_plain_http`. An invite (`parley://join?server=…&fp=…`) pins its fingerprint for its
 * server, as the core does; a malformed one fails with `invalid_invite`. `discover_servers`
 * answers after `discoveryDelayMs` (300 ms; the core listens about 2 s) what `setDiscovery` set.
 *
 * Direct channels: `connect(userId, route, device?)` opens one (a `connected` event with its
 * route; `contacts` reports the best route of the user's open channels), `disconnect(userId,
 * device?)` closes it (`disconnected`).
 *
 * Messages: `edit_message`, `delete_message` and `react` apply the core's rules (your own
 * messages within `LIMITS.editWindowMs`, nothing on a deleted one) and emit `message-changed` /
 * `message-removed`; a reply's `reply` preview is made from the quoted message whenever a message
 * is handed out. Bob's side of it: `peerEdit`, `peerDelete`, `peerReact`, `receive` with `replyTo`.
 *
 * Identity keys: Bob has one device met, `laptop` (unverified unless `identity=changed`); Carol
 * has none (no direct connection yet).
 *
 * Files (docs/file-protocol.md): `pick_files` answers a scripted list (`setPickedFiles`; empty is
 * a cancel), `send_files` and `send_pasted_file` (the bytes as body, user and name in the
 * URI-encoded `Parley-User`/`Parley-Name` headers, which the mock reads off the invoke) make
 * outgoing file messages that are `waiting`; images get a thumbnail (a JPEG painted here). A
 * transfer moves one step per `advanceTransfer(id)`: to `transferring` (with a `transfer-progress`
 * at its start), a third of the file per step (with speed), then `complete`; with
 * `?transfers=auto` every 400 ms by itself. `offerFile` is Bob's side: an incoming offer, queued
 * (`waiting`) up to the auto-accept size, `awaiting-accept` over it. `accept_file` starts it
 * (`transferring`), `decline_file`/`cancel_file`/`resume_file` keep the core's rules
 * (`transfer_finished` once over). `setFile` changes a transfer as the core would (failed, paused,
 * missing…) and emits `message-changed`; `progress` emits a `transfer-progress`. `picture`
 * answers a PNG painted here (only for an image on this device: else `picture_unavailable`),
 * `save_file_as` a path (`setSaveAsPath`; null is a cancel), `open_file`/`show_file` nothing
 * (recorded), `file_missing` for a missing file.
 *
 * `as=bob` signs this page in as Bob (with `session=online`). Calls: see mock-calls.ts (two pages
 * relay call frames with `relay=<name>`; then Alice and Bob count as online to each other), and
 * mock-media.ts for the media bridge's `media_*` commands (`media_send`'s call is read off its
 * `Parley-Call` header; `callsOf('media_send')` gives `{callId, size}`).
 */
import { emit } from '@tauri-apps/api/event';
import { charCount, LIMITS } from '../../src/model/limits';
import { bestRoute } from '../../src/model/route';
import { createCallMock } from './mock-calls';
import { fakeTauri } from './fake-tauri';
import type {
  Connection,
  Contact,
  CoreEvent,
  DeliveryState,
  DiscoveredServer,
  FileTransfer,
  Message,
  Peer,
  Route,
  SafetyNumber,
  SearchResult,
  ServerChoice,
  Settings,
  Sharing,
  Snapshot,
  StartupStatus,
  StoreKind,
  User,
} from '../../src/types';

type Args = Record<string, unknown>;
type Call = { cmd: string; args: unknown };
const fail = (code: string, message: string): never => {
  // Tauri rejects with the serialized error object.
  throw { code, message };
};

const params = new URLSearchParams(location.search);
const now = Date.now();

function makeUser(id: string, display_name: string, extra: Partial<User> = {}): User {
  return { id, username: id, display_name, bio: '', status: '', avatar_url: null, created_at: 1_700_000_000, ...extra };
}

const users = new Map<string, User & { password: string }>();
for (const [u, pw] of [
  [makeUser('alice', 'Alice', { email: 'alice@example.org' }), 'correct horse'],
  [makeUser('bob', 'Bob', { status: 'Around', bio: 'Cellist.\nAsk me about <b>bold</b> bows: https://example.org/bows' }), 'bob-password'],
  [makeUser('carol', 'Carol'), 'carol-password'],
] as const) {
  users.set(u.id, { ...u, password: pw });
}

const publicUser = (id: string): User => {
  const u = users.get(id);
  if (u === undefined) return fail('unknown_contact', `No user ${id}.`);
  const { password: _pw, ...rest } = u;
  void _pw;
  return rest;
};

let me: string | null = null;
let connection: Connection = 'signed-out';
let server: ServerChoice = { kind: 'embedded' };
let seq = 0;
/** Avatars by user id (what `avatar` answers); an uploaded one goes here too. */
const avatarBytes = new Map<string, Uint8Array>();
/** A small orange chequerboard PNG. */
const AVATAR_PNG = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAJUlEQVR4nGN4VqEBR79ORMERLnGGQaiBGEXI4oNRwyAM1pEYDwDjyNEQMFc3sQAAAABJRU5ErkJggg=='), (c) => c.charCodeAt(0));
const avatarsParam = params.get('avatars');
if (avatarsParam === '1' || avatarsParam === 'late') {
  for (const id of ['alice', 'bob']) {
    avatarBytes.set(id, AVATAR_PNG);
    const u = users.get(id);
    if (u !== undefined) u.avatar_url = `/avatars/${id}?v=1`;
  }
}
/** What the folder picker answers next (null: the person cancels). */
let pickedFolder: string | null = '/home/alice/Parley files';
const messages = new Map<string, Message[]>(); // conversation id → oldest first
const joined = new Map<string, Peer[]>();
const calls: Call[] = [];
const theme = params.get('theme');
let settings: Settings = {
  server: { kind: 'embedded' },
  ice_servers: [],
  download_dir: null,
  auto_accept_mib: 100,
  theme: theme === 'light' || theme === 'dark' ? theme : 'system',
  notifications: true,
  keyring: 'os',
  let_others_join: params.get('sharing') === '1',
};

/** The history's recovery code (52 Crockford base32 characters in groups of four). */
const RECOVERY_CODE = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Why the profile is not open (null: it is). */
let problem: string | null = params.get('startup');
let recoveryPending = params.get('recovery') === 'pending';
const PROBLEMS: Record<string, string> = {
  keyring_unavailable:
    'cannot keep your sign-in and keys: the Secret Service (GNOME Keyring, KWallet, KeePassXC) is not reachable (no D-Bus session). Install and start gnome-keyring, KWallet or KeePassXC (with its Secret Service integration), or unlock it, then try again.',
  history_locked:
    "your history is locked: its key is not in this computer's keyring (a new or reset keyring?). Enter your recovery code to open it.",
  profile_in_use: 'the profile directory /tmp/parley-mock is in use by another Parley process (pid 4242)',
};
/** The commands that work before the profile is open (the others fail with `not_started`). */
const BEFORE_START = new Set(['app_info', 'startup_status', 'retry_startup', 'unlock_history', 'get_settings', 'report_media_caps', 'ui_ready']);

function keyringName(kind: StoreKind): string {
  return kind === 'os' ? 'Secret Service (GNOME Keyring, KWallet, KeePassXC)' : kind === 'keyutils' ? 'Linux kernel keyring (keyutils)' : 'in-memory store';
}

function startupStatus(): StartupStatus {
  return {
    ready: problem === null,
    code: problem,
    message: problem === null ? null : (PROBLEMS[problem] ?? `the profile did not open (${problem})`),
    keyring: settings.keyring,
    keyring_name: keyringName(settings.keyring),
    kernel_keyring_available: params.get('kernel') !== '0' && settings.keyring !== 'keyutils',
  };
}

/** The core's leniency: case, spaces and dashes don't matter; I and L read as 1, O as 0. */
function parseRecoveryCode(text: string): string | null {
  const chars = [...text.toUpperCase()].filter((c) => c.trim() !== '' && c !== '-').map((c) => (c === 'I' || c === 'L' ? '1' : c === 'O' ? '0' : c));
  if (chars.length !== 52 || chars.some((c) => !CROCKFORD.includes(c))) return null;
  return chars.join('');
}
const roomMembers: Record<string, string[]> = { lobby: ['bob', 'carol'], random: ['carol'] };

/** A device of a contact as this device pinned it: the number shown is the pending key's when `changed`. */
type Pin = { device: string; number: string; verified: boolean; changed: boolean };
const BOB_NUMBER = '30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131';
const NEW_NUMBER = '71529 03348 15570 62894 40417 93306 28815 50962 37041 18857 64203 90518';
const keyChanged = params.get('identity') === 'changed';
const pins = new Map<string, Pin[]>([['bob', [{ device: 'laptop', number: keyChanged ? NEW_NUMBER : BOB_NUMBER, verified: keyChanged, changed: keyChanged }]]]);
const pinsOf = (userId: string): Pin[] => pins.get(userId) ?? [];

/**
 * A small valid SVG that looks like a QR code of `number` (finder squares, modules from the
 * digits); not a real code. 21 modules and a quiet zone of 4, drawn at 160 px like the core's.
 */
function qrSvg(number: string): string {
  const digits = number.replaceAll(' ', '');
  const finder = (x: number, y: number) => `M${x} ${y}h7v7h-7zM${x + 1} ${y + 1}v5h5v-5zM${x + 2} ${y + 2}h3v3h-3z`;
  let d = finder(4, 4) + finder(18, 4) + finder(4, 18);
  for (let r = 0; r < 21; r++) {
    for (let c = 0; c < 21; c++) {
      const inFinder = (r < 8 && (c < 8 || c > 12)) || (r > 12 && c < 8);
      if (!inFinder && (Number(digits[(r * 21 + c) % digits.length]) + r * c) % 3 === 0) d += `M${c + 4} ${r + 4}h1v1h-1z`;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 29 29" shape-rendering="crispEdges"><rect width="29" height="29" fill="#fff"/><path fill="#000" fill-rule="evenodd" d="${d}"/></svg>`;
}

/**
 * A message as the core hands it out: a copy (the page never shares the mock's objects), with the
 * preview of the message it answers when that is still here.
 */
function present(m: Message): Message {
  const quoted = m.reply_to === null ? undefined : conv(m.conversation_id).find((x) => x.id === m.reply_to);
  const reply = quoted === undefined ? null : { id: quoted.id, sender_id: quoted.sender_id, text: quoted.deleted ? '' : quoted.body.slice(0, 100), deleted: quoted.deleted };
  return { ...m, reactions: m.reactions.map((r) => ({ ...r })), reply, file: m.file === null ? null : { ...m.file } };
}

function findMessage(conversationId: string, id: string): Message {
  const m = conv(conversationId).find((x) => x.id === id);
  return m ?? fail('unknown_message', `no message ${id} in this conversation`);
}

/** The core's rule for editing and deleting for everyone: ours, not deleted, within the window. */
function checkOwn(m: Message): void {
  if (m.direction !== 'outgoing') fail('not_your_message', 'only your own messages can be changed');
  if (m.deleted) fail('message_deleted', 'that message was deleted');
  if (Date.now() - m.sent_at >= LIMITS.editWindowMs) fail('edit_window_passed', 'the time for changing that message has passed');
}

/** An emoji, as the core checks it: one grapheme with a pictograph in it, no letters or digits. */
function isEmoji(text: string): boolean {
  return text.length > 0 && text.length <= 16 && /\p{Extended_Pictographic}/u.test(text) && !/[\p{L}\p{N}]/u.test(text);
}

function setReaction(m: Message, userId: string, emoji: string | null): void {
  m.reactions = m.reactions.filter((r) => r.user_id !== userId);
  if (emoji !== null) m.reactions.push({ user_id: userId, emoji });
}

function changed(m: Message): Promise<void> {
  return emitEvent({ event: 'message-changed', message: present(m) });
}

function conv(id: string): Message[] {
  let list = messages.get(id);
  if (list === undefined) {
    list = [];
    messages.set(id, list);
  }
  return list;
}

function store(conversation: string, direction: Message['direction'], body: string, sentAt = Date.now(), state?: DeliveryState): Message {
  seq += 1;
  const m: Message = {
    id: `m${seq}`,
    conversation_id: conversation,
    direction,
    sender_id: direction === 'outgoing' ? (me ?? 'alice') : conversation,
    body,
    sent_at: sentAt,
    received_at: direction === 'incoming' ? sentAt : null,
    state: state ?? (direction === 'outgoing' ? 'pending' : 'received'),
    seq,
    reply_to: null,
    edited_at: null,
    deleted: false,
    reactions: [],
    reply: null,
    file: null,
    call: null,
  };
  conv(conversation).push(m);
  return m;
}

const LONG = 'This one is longer, so that rows have different heights. '.repeat(4);
function seedHistory(userId: string, n: number): void {
  const start = now - n * 5 * 60_000;
  for (let i = 0; i < n; i++) {
    const out = i % 3 === 0;
    const body = n >= 100 && i === Math.floor(n / 3) ? `the needle in the haystack #${i}` : i % 7 === 0 ? `Message ${i}. ${LONG}` : i % 11 === 0 ? `Message ${i}\nwith\nthree lines` : `Message ${i}`;
    store(userId, out ? 'outgoing' : 'incoming', body, start + i * 5 * 60_000, out ? 'read' : 'read');
  }
}
seedHistory('carol', 3);
const historyN = Number(params.get('history') ?? '0');
if (historyN > 0) seedHistory('bob', historyN);

const cursorOf = (m: Message) => `c:${m.seq}`;
const seqOf = (cursor: unknown) => Number(String(cursor).slice(2));

function snapshot(): Snapshot {
  return {
    connection,
    me: me !== null && connection !== 'signed-out' ? publicUser(me) : null,
    username: me,
    server,
    server_url: server.kind === 'url' ? server.url : 'http://127.0.0.1:41000',
    // Remembered rooms are listed while offline too, with nobody known to be in them.
    rooms: connection === 'signed-out' ? [] : [...joined].map(([room, peers]) => ({ room, peers: connection === 'online' ? peers : [] })),
    error: null,
    recovery_code_pending: recoveryPending,
  };
}

function peersOf(room: string): Peer[] {
  return (roomMembers[room] ?? []).map((id) => ({ peer_id: `peer-${id}`, user: publicUser(id) }));
}

function isOnline(id: string): boolean {
  // Two pages relaying calls: each one's person has a channel to the other's device.
  if (callMock.relayed && (id === 'alice' || id === 'bob')) return true;
  return [...joined.values()].some((peers) => peers.some((p) => p.user.id === id));
}

function conversationOf(id: string) {
  const list = conv(id);
  const last = list[list.length - 1] ?? null;
  return {
    id,
    title: publicUser(id).display_name,
    last_message: last,
    unread: list.filter((m) => m.direction === 'incoming' && m.state !== 'read').length,
    updated_at: last?.sent_at ?? 0,
  };
}

function contacts(): Contact[] {
  const ids = new Set<string>();
  for (const [id, list] of messages) if (list.length > 0) ids.add(id);
  for (const peers of joined.values()) for (const p of peers) ids.add(p.user.id);
  ids.add('bob');
  if (callMock.relayed) ids.add('alice');
  ids.delete(me ?? '');
  return [...ids].map((id) => ({ user: publicUser(id), online: connection === 'online' && isOnline(id), route: routeTo(id), conversation: messages.has(id) ? conversationOf(id) : null }));
}

/** The direct channels open to each user's devices, and how each travels (as the core knows them). */
const channels = new Map<string, Map<string, Route | null>>();
const startRoute = params.get('route');
if (startRoute === 'direct' || startRoute === 'through-nat' || startRoute === 'relayed') channels.set('bob', new Map([['laptop', startRoute]]));
/** The best route of the channels open to `userId` (null: none, or none says), as `Contact.route`. */
const routeTo = (userId: string): Route | null => bestRoute(channels.get(userId)?.values() ?? []);
const devicePeer = (userId: string, device: string) => `peer-${userId}-${device}`;

function needSession(): void {
  if (me === null || connection === 'signed-out') fail('not_signed_in', 'Sign in first.');
}
function needOnline(): void {
  needSession();
  if (connection !== 'online') fail('not_online', 'Offline.');
}

function signedIn(user: string): Snapshot {
  me = user;
  connection = 'online';
  return snapshot();
}

/** Certificates by the hex of their SHA-256, as the core groups them for people. */
const grouped = (hex: string): string => hex.match(/.{4}/g)?.join(' ') ?? hex;
/** The certificate of the LAN server of the tests (and of this device's server when shared). */
const LAN_CERT = '3F2A91BC0D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8';
/** What the server at 192.168.1.66 presents now, and what was pinned for it before. */
const NEW_CERT = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
const OLD_CERT = '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF';
/** The certificate each test server presents (by origin); the others have one an authority vouches for. */
const presented = new Map([
  ['https://192.168.1.20:7891', LAN_CERT],
  ['https://192.168.1.66:7891', NEW_CERT],
]);
/** Certificates trusted per server (`trust_server`, invites): hex. */
const pinned = new Map([['https://192.168.1.66:7891', OLD_CERT]]);
/** Servers the person agreed to reach over plain http. */
const plainHttpAllowed = new Set<string>();

/** A fingerprint in any form the core reads (`sha256:` and grouped hex, or base64url) → hex, or null. */
function certHex(text: string): string | null {
  const body = text.trim().replace(/^sha256[:= ]\s*/i, '');
  const hex = body.replace(/[\s:-]/g, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) return hex.toUpperCase();
  try {
    const bytes = atob(body.replaceAll('-', '+').replaceAll('_', '/'));
    if (bytes.length !== 32) return null;
    return [...bytes].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('').toUpperCase();
  } catch {
    return null;
  }
}

/** An invite as the core writes it: the server's URL percent-encoded, the fingerprint in base64url. */
function inviteOf(server: string, hex: string): string {
  const bytes = String.fromCharCode(...(hex.match(/../g) ?? []).map((b) => parseInt(b, 16)));
  const fp = btoa(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return `parley://join?server=${encodeURIComponent(server)}&fp=${fp}`;
}

/** The server an invite names, after pinning its certificate (as the core's `chosen_access`). */
function joinInvite(invite: string): string {
  const query = new URLSearchParams(invite.trim().slice('parley://join?'.length));
  const fp = query.get('fp');
  const at = query.get('server');
  if (fp === null) return fail('invalid_invite', 'the invite has no certificate fingerprint (fp=\u2026)');
  const hex = certHex(fp);
  if (hex === null) return fail('invalid_invite', `${JSON.stringify(fp)} is not a certificate fingerprint: expected 64 hex digits (SHA-256)`);
  if (at === null || at.trim() === '') return fail('invalid_invite', 'the invite has no server address (server=\u2026)');
  if (!at.startsWith('https://')) return fail('invalid_invite', `the invite names ${at}, which is not an https:// address`);
  pinned.set(at, hex);
  return at;
}

function checkServer(choice: unknown): void {
  const s = choice as ServerChoice;
  if (s.kind === 'url') {
    const origin = s.url.trim().toLowerCase().startsWith('parley://join?') ? joinInvite(s.url) : s.url;
    const url = new URL(origin);
    const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
    if (url.protocol === 'http:' && !loopback && !plainHttpAllowed.has(origin)) {
      fail('plain_http', `${origin} is another computer reached over plain http://: your password and who you talk to would be readable and changeable by anyone on the way (the Wi-Fi, the network's owner). Use its https:// address or invite if it has one; go on only on a network you trust.`);
    }
    if (origin.includes('unreachable')) fail('server_unreachable', `Could not connect to ${origin}.`);
    const cert = presented.get(origin);
    const pin = pinned.get(origin);
    if (cert !== undefined && pin === undefined) {
      throw {
        code: 'untrusted_certificate',
        message: `${origin} presented a certificate that no certificate authority vouches for (fingerprint sha256:${grouped(cert)}). If it is a server on your network, use the invite its owner shares, or compare this fingerprint with the one the server shows before trusting it.`,
        fingerprint: `sha256:${grouped(cert)}`,
      };
    }
    if (cert !== undefined && pin !== cert) {
      throw {
        code: 'certificate_changed',
        message: `${origin} presented a different certificate from the one trusted for it (expected sha256:${grouped(pin ?? '')}, got sha256:${grouped(cert)}): the connection was refused, because someone may be posing as the server. If its owner made a new certificate, get a new invite from them.`,
        fingerprint: `sha256:${grouped(cert)}`,
      };
    }
  }
  server = s;
}

/** What `discover_servers` finds by default: a LAN server and one with a long IPv6 address and markup in its name. */
const OFFICE_CERT = '9C4D1E7F20A3B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E';
const DISCOVERED: DiscoveredServer[] = [
  { name: 'Parley on kim-laptop', address: '192.168.1.20:7891', fingerprint: grouped(LAN_CERT), invite: inviteOf('https://192.168.1.20:7891', LAN_CERT) },
  {
    name: '<b>Office</b> Parley on the second-floor server with a very long name',
    address: '[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a]:7891',
    fingerprint: grouped(OFFICE_CERT),
    invite: inviteOf('https://[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a]:7891', OFFICE_CERT),
  },
];
const discoverParam = params.get('discover');
/** What `discover_servers` answers next: the servers found, or an error. */
let discovery: { servers: DiscoveredServer[] } | { error: { code: string; message: string } } =
  discoverParam === 'none'
    ? { servers: [] }
    : discoverParam === 'error'
      ? { error: { code: 'discovery_unavailable', message: 'multicast DNS is not available: no network interface supports multicast' } }
      : { servers: DISCOVERED };
/** How long `discover_servers` listens before it answers. */
let discoveryDelayMs = 300;

/** "Let others join": open to the network (the addresses a LAN computer might have, one long IPv6), or not. */
let sharingOn = settings.let_others_join;
let hosting = params.get('hosting') !== '0';
const SHARE_ADDRESSES = ['192.168.1.20:7891', '10.0.0.5:7891', '[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a]:7891'];
function sharingInfo(): Sharing | null {
  if (!sharingOn) return null;
  const invites = SHARE_ADDRESSES.map((a) => inviteOf(`https://${a}`, LAN_CERT));
  return { port: 7891, fingerprint: grouped(LAN_CERT), invites, addresses: [...SHARE_ADDRESSES], qr_svg: qrSvg([...(invites[0] ?? '')].map((c) => c.charCodeAt(0) % 10).join('')) };
}

function highlight(body: string, q: string): string {
  const lower = body.toLowerCase();
  const needle = q.toLowerCase();
  let out = '';
  let i = 0;
  for (;;) {
    const j = lower.indexOf(needle, i);
    if (j < 0) break;
    out += `${body.slice(i, j)}\u0002${body.slice(j, j + needle.length)}\u0003`;
    i = j + needle.length;
  }
  return out + body.slice(i);
}


// --- files ----------------------------------------------------------------------------------

const MIB = 1024 * 1024;
/** What the file picker answers next (empty: the person cancels). */
let pickedFiles: string[] = ['/home/alice/Pictures/holiday.jpg', '/home/alice/Documents/report.pdf'];
/** What the save dialog answers next (null: cancelled); by default the Documents folder. */
let saveAsPath: string | null | undefined;
/** The sizes of the files "on disk" by path (others have 1,234,567 bytes). */
const diskFiles = new Map<string, number>([
  ['/home/alice/Pictures/holiday.jpg', 2_411_520],
  ['/home/alice/Documents/report.pdf', 48_200_000],
]);
/** The headers of the command being called (`send_pasted_file` carries the user and the name there). */
let callHeaders = new Headers();
const autoTransfers = params.get('transfers') === 'auto';

const MIMES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf', txt: 'text/plain' };
const mimeOf = (name: string) => MIMES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
const isImageName = (name: string) => /\.(jpe?g|png|gif|webp)$/i.test(name);

/** A canvas painted with a sunset-like gradient and a sun: the pictures of this mock. */
function paint(width: number, height: number, hue: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d');
  if (g === null) return canvas;
  const sky = g.createLinearGradient(0, 0, 0, height);
  sky.addColorStop(0, `hsl(${hue} 70% 55%)`);
  sky.addColorStop(1, `hsl(${(hue + 40) % 360} 80% 75%)`);
  g.fillStyle = sky;
  g.fillRect(0, 0, width, height);
  g.fillStyle = `hsl(${(hue + 180) % 360} 60% 35%)`;
  g.fillRect(0, height * 0.72, width, height * 0.28);
  g.fillStyle = 'hsl(48 100% 70%)';
  g.beginPath();
  g.arc(width * 0.7, height * 0.45, Math.min(width, height) * 0.14, 0, Math.PI * 2);
  g.fill();
  return canvas;
}

/** A thumbnail as the core makes them: a JPEG fitting 400 px, base64. */
function thumbnail(width: number, height: number, hue: number): string {
  const scale = Math.min(1, 400 / Math.max(width, height));
  return paint(Math.round(width * scale), Math.round(height * scale), hue).toDataURL('image/jpeg', 0.8).split(',')[1] ?? '';
}

function fileTransfer(name: string, size: number, image: { width: number; height: number; hue?: number } | null, extra: Partial<FileTransfer> = {}): FileTransfer {
  return {
    name,
    size,
    mime: mimeOf(name),
    sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    width: image?.width ?? null,
    height: image?.height ?? null,
    thumbnail: image === null ? null : thumbnail(image.width, image.height, image.hue ?? 20),
    state: 'waiting',
    bytes_done: 0,
    error: null,
    path: null,
    missing: false,
    ...extra,
  };
}

function findById(id: string): Message {
  const m = [...messages.values()].flat().find((x) => x.id === id);
  return m ?? fail('unknown_transfer', `no transfer ${id}`);
}
function transferOf(id: string): { m: Message; file: FileTransfer } {
  const m = findById(id);
  if (m.file === null) return fail('unknown_transfer', `${id} is no file`);
  return { m, file: m.file };
}
const finished = (f: FileTransfer) => ['complete', 'declined', 'cancelled', 'failed'].includes(f.state);

function progressEvent(m: Message, bytesPerSec: number, resumedFrom: number | null = null): Promise<void> {
  const file = m.file as FileTransfer;
  return emitEvent({ event: 'transfer-progress', id: m.id, conversation_id: m.conversation_id, bytes_done: file.bytes_done, size: file.size, bytes_per_sec: bytesPerSec, resumed_from: resumedFrom });
}

/** Offers a file from disk (or held bytes) to `to`: an outgoing file message, waiting. */
function sendFile(to: string, name: string, size: number, path: string): Message {
  const m = store(to, 'outgoing', name);
  m.file = fileTransfer(name, size, isImageName(name) ? { width: 4032, height: 3024, hue: 200 } : null, { path });
  void emitEvent({ event: 'message', message: present(m) });
  if (autoTransfers) runAuto(m.id);
  return m;
}

/** The next step of a transfer: started, a third more, complete. */
async function advance(id: string, bytesPerSec = 268_000): Promise<void> {
  const { m, file } = transferOf(id);
  if (finished(file) || file.state === 'paused') return;
  if (file.state !== 'transferring') {
    const resumed = file.bytes_done > 0 ? file.bytes_done : null;
    file.state = 'transferring';
    await changed(m);
    await progressEvent(m, 0, resumed);
    return;
  }
  file.bytes_done = Math.min(file.size, file.bytes_done + Math.ceil(file.size / 3));
  if (file.bytes_done < file.size) {
    await progressEvent(m, bytesPerSec);
    return;
  }
  await progressEvent(m, bytesPerSec);
  file.state = 'complete';
  if (m.direction === 'incoming') file.path = `/home/alice/Downloads/Parley/${file.name}`;
  else m.state = 'delivered';
  await changed(m);
}

function runAuto(id: string): void {
  const step = () => {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    if (m?.file === null || m === undefined || finished(m.file)) return;
    if (m.file.state !== 'awaiting-accept' && m.file.state !== 'paused') void advance(id, 4_200_000);
    setTimeout(step, 400);
  };
  setTimeout(step, 400);
}

/** The full picture, as the core answers it: a PNG, at most 2560 px (here a small one, 640 px at most). */
async function pictureBytes(file: FileTransfer, hue: number): Promise<Uint8Array> {
  const scale = Math.min(1, 640 / Math.max(file.width ?? 640, file.height ?? 480));
  const [w, h] = [Math.round((file.width ?? 640) * scale), Math.round((file.height ?? 480) * scale)];
  const blob = await new Promise<Blob | null>((resolve) => paint(w, h, hue).toBlob(resolve, 'image/png'));
  if (blob === null) return fail('picture_unavailable', 'could not paint');
  return new Uint8Array(await blob.arrayBuffer());
}

const fileHandlers: Record<string, (a: Args) => unknown> = {
  pick_files: () => [...pickedFiles],
  send_files: (a) => {
    needSession();
    const to = String(a.userId);
    const paths = a.paths as string[];
    return paths.map((path) => {
      if (path.endsWith('/')) return fail('not_a_file', `${path} is a folder`);
      const name = path.split('/').pop() ?? path;
      return present(sendFile(to, name, diskFiles.get(path) ?? 1_234_567, path));
    });
  },
  send_pasted_file: (a) => {
    needSession();
    const bytes = a as unknown as Uint8Array;
    if (!(bytes instanceof Uint8Array)) return fail('invalid_input', "send the file's bytes as the request body");
    const user = callHeaders.get('Parley-User');
    const name = callHeaders.get('Parley-Name');
    if (user === null || name === null) return fail('invalid_input', 'missing Parley-User or Parley-Name header');
    const n = decodeURIComponent(name);
    return present(sendFile(decodeURIComponent(user), n, bytes.byteLength, `/tmp/parley-mock/pasted/${n}`));
  },
  accept_file: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (file.state !== 'awaiting-accept') return fail('transfer_finished', 'not waiting for a decision');
    file.state = 'transferring';
    void changed(m).then(() => progressEvent(m, 0));
    if (autoTransfers) runAuto(m.id);
    return present(m);
  },
  decline_file: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (finished(file)) return fail('transfer_finished', 'already finished');
    file.state = 'declined';
    void changed(m);
    return present(m);
  },
  cancel_file: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (finished(file)) return fail('transfer_finished', 'already finished');
    file.state = 'cancelled';
    void changed(m);
    return present(m);
  },
  resume_file: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (file.state !== 'paused') return fail('transfer_finished', 'not paused');
    file.state = 'transferring';
    file.error = null;
    void changed(m).then(() => progressEvent(m, 0, file.bytes_done));
    return present(m);
  },
  open_file: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (file.missing || (m.direction === 'incoming' && file.state !== 'complete')) return fail('file_missing', 'the file is not there');
    return null;
  },
  show_file: (a) => fileHandlers.open_file?.(a),
  save_file_as: (a) => {
    const { file } = transferOf(String(a.id));
    if (file.missing) return fail('file_missing', 'the file is not there');
    return saveAsPath === undefined ? `/home/alice/Documents/${file.name}` : saveAsPath;
  },
  picture: (a) => {
    const { m, file } = transferOf(String(a.id));
    if (file.thumbnail === null || file.missing || (m.direction === 'incoming' && file.state !== 'complete')) return fail('picture_unavailable', 'no picture to show');
    return pictureBytes(file, m.direction === 'incoming' ? 20 : 200);
  },
};

const fileMock = {
  /** What the file picker answers next (empty: cancelled). */
  setPickedFiles(paths: string[]): void {
    pickedFiles = paths;
  },
  /** What the save dialog answers next (null: cancelled). */
  setSaveAsPath(path: string | null): void {
    saveAsPath = path;
  },
  /**
   * `from` offers a file: queued (`waiting`) up to the auto-accept size, else `awaiting-accept`.
   * `image`: the picture's size (it gets a thumbnail).
   */
  async offerFile(from: string, name: string, size: number, image: { width: number; height: number } | null = null): Promise<Message> {
    const m = store(from, 'incoming', name);
    m.file = fileTransfer(name, size, image === null ? null : { ...image, hue: 20 }, { state: size <= settings.auto_accept_mib * MIB ? 'waiting' : 'awaiting-accept' });
    await emitEvent({ event: 'message', message: present(m) });
    if (autoTransfers && m.file.state === 'waiting') runAuto(m.id);
    return present(m);
  },
  /** The next step of transfer `id` (see the top of this file). */
  advanceTransfer: (id: string, bytesPerSec?: number) => advance(id, bytesPerSec),
  /** Changes a transfer as the core would, then `message-changed`. */
  async setFile(id: string, fields: Partial<FileTransfer>): Promise<Message> {
    const { m, file } = transferOf(id);
    Object.assign(file, fields);
    await changed(m);
    return present(m);
  },
  /** A `transfer-progress` of transfer `id` at `bytesDone`. */
  async progress(id: string, bytesDone: number, bytesPerSec: number, resumedFrom: number | null = null): Promise<void> {
    const { m, file } = transferOf(id);
    file.bytes_done = bytesDone;
    await progressEvent(m, bytesPerSec, resumedFrom);
  },
};

// --- calls (mock-calls.ts) -------------------------------------------------------------------

const { handlers: callHandlers, mock: callMock } = createCallMock({
  params,
  me: () => me,
  header: (name) => callHeaders.get(name),
  emit: (event) => emitEvent(event),
  record(userId, id, outgoing, video, record, startedAt, unread) {
    // As the core's `record_call`: the call's id, "Video call" or "Audio call", the outcome.
    const m = store(userId, outgoing ? 'outgoing' : 'incoming', video ? 'Video call' : 'Audio call', startedAt, outgoing ? 'sent' : unread ? 'received' : 'read');
    m.id = id;
    m.call = { video, ...record };
    void emitEvent({ event: 'message', message: present(m) });
  },
  fail,
  needSession,
});

const handlers: Record<string, (a: Args) => unknown> = {
  app_info: () => ({ version: '0.1.0-mock', debug: true, os: 'linux', arch: 'x86_64', profile_dir: '/tmp/parley-mock' }),
  startup_status: () => startupStatus(),
  retry_startup: (a) => {
    if (a.keyring !== undefined) {
      settings = { ...settings, keyring: a.keyring as StoreKind };
      // The kernel keyring is always there (Linux); a new one has no history key in it, but
      // this mock's profile is new as far as that keyring goes.
      if (problem === 'keyring_unavailable') problem = null;
    }
    return startupStatus();
  },
  unlock_history: (a) => {
    const code = parseRecoveryCode(String(a.recoveryCode));
    if (code === null) return fail('invalid_recovery_code', 'that is not a recovery code: it has 52 letters and digits, in groups of four');
    if (code !== parseRecoveryCode(RECOVERY_CODE)) return fail('wrong_recovery_code', 'that recovery code does not open this history: check it, or use the code saved for this profile');
    if (problem === 'history_locked') problem = null;
    return startupStatus();
  },
  recovery_code: () => RECOVERY_CODE,
  recovery_code_saved: () => {
    recoveryPending = false;
    return snapshot();
  },
  snapshot: () => snapshot(),
  restore_session: () => {
    const s = params.get('session');
    if (s === 'online') return signedIn(params.get('as') ?? 'alice');
    if (s === 'offline') {
      me = 'alice';
      connection = 'offline';
      return snapshot();
    }
    return snapshot();
  },
  sign_in: (a) => {
    checkServer(a.server);
    const login = String(a.login);
    const u = [...users.values()].find((x) => x.username === login || x.email === login);
    if (u === undefined || u.password !== a.password) return fail('invalid_credentials', 'Wrong login or password.');
    return signedIn(u.id);
  },
  sign_up: (a) => {
    checkServer(a.server);
    const username = String(a.username);
    if (users.has(username)) return fail('username_taken', 'That username is taken.');
    // The server's own words (parley-protocol's validate), which the UI words for people.
    if (String(a.password).length < 8) return fail('invalid_input', 'password must be at least 8 characters');
    users.set(username, { ...makeUser(username, typeof a.displayName === 'string' ? a.displayName : username, { email: String(a.email) }), password: String(a.password) });
    return signedIn(username);
  },
  sign_out: (a) => {
    connection = 'signed-out';
    joined.clear();
    if (a.keepHistory === false) messages.clear();
    return snapshot();
  },
  room_directory: () => {
    needOnline();
    // As the server counts: every connection in the room, yours too once you joined it.
    return Object.entries(roomMembers).map(([name, m]) => ({ name, online: m.length + (joined.has(name) ? 1 : 0) }));
  },
  join_room: (a) => {
    needOnline();
    const room = String(a.room);
    const peers = peersOf(room);
    joined.set(room, peers);
    return { room, peers };
  },
  leave_room: (a) => {
    joined.delete(String(a.room));
    return null;
  },
  contacts: () => {
    needSession();
    return contacts();
  },
  open_conversation: (a) => {
    needSession();
    const id = String(a.userId);
    conv(id);
    return conversationOf(id);
  },
  history_page: (a) => {
    const list = conv(String(a.conversationId));
    const limit = Number(a.limit ?? 50);
    const before = a.before === undefined || a.before === null ? Infinity : seqOf(a.before);
    const older = list.filter((m) => m.seq < before);
    const page = older.slice(Math.max(0, older.length - limit)).reverse().map(present);
    const last = page[page.length - 1];
    return { messages: page, next: older.length > limit && last !== undefined ? cursorOf(last) : null };
  },
  history_after: (a) => {
    const list = conv(String(a.conversationId));
    const limit = Number(a.limit ?? 50);
    const after = seqOf(a.after);
    const newer = list.filter((m) => m.seq > after);
    const page = newer.slice(0, limit).map(present);
    const last = page[page.length - 1];
    return { messages: page, next: newer.length > limit && last !== undefined ? cursorOf(last) : null };
  },
  message_cursor: (a) => {
    for (const list of messages.values()) {
      const m = list.find((x) => x.id === a.messageId);
      if (m !== undefined) return cursorOf(m);
    }
    return fail('unknown_message', 'No such message.');
  },
  send_message: (a) => {
    needSession();
    const body = String(a.body);
    // The core's rule (see src/model/limits.ts), so the UI's own check is what these tests see.
    if (body.trim() === '' || charCount(body) > LIMITS.message) return fail('invalid_message', 'Empty or too long.');
    const to = String(a.userId);
    if (a.replyTo !== undefined && a.replyTo !== null) {
      const quoted = findMessage(to, String(a.replyTo));
      if (quoted.deleted) fail('unknown_message', 'that message was deleted');
    }
    const m = store(to, 'outgoing', body);
    if (a.replyTo !== undefined && a.replyTo !== null) m.reply_to = String(a.replyTo);
    void emitEvent({ event: 'message', message: present(m) });
    return present(m);
  },
  edit_message: (a) => {
    needSession();
    const m = findMessage(String(a.conversationId), String(a.id));
    checkOwn(m);
    const body = String(a.body);
    if (body.trim() === '' || charCount(body) > LIMITS.message) return fail('invalid_message', 'Empty or too long.');
    m.body = body;
    m.edited_at = Date.now();
    void changed(m);
    return present(m);
  },
  delete_message: (a) => {
    needSession();
    const list = conv(String(a.conversationId));
    const m = findMessage(String(a.conversationId), String(a.id));
    if (a.forEveryone === true) {
      checkOwn(m);
      m.deleted = true;
      m.body = '';
      m.reactions = [];
      void changed(m);
    } else {
      list.splice(list.indexOf(m), 1);
      void emitEvent({ event: 'message-removed', id: m.id, conversation_id: m.conversation_id });
    }
    return null;
  },
  react: (a) => {
    needSession();
    const m = findMessage(String(a.conversationId), String(a.id));
    if (m.deleted) return fail('message_deleted', 'that message was deleted');
    const emoji = a.emoji === null || a.emoji === undefined ? null : String(a.emoji);
    if (emoji !== null && !isEmoji(emoji)) return fail('invalid_reaction', 'not an emoji');
    setReaction(m, me ?? 'alice', emoji);
    void changed(m);
    return present(m);
  },
  pick_folder: () => pickedFolder,
  mark_read: (a) => {
    let n = 0;
    for (const m of conv(String(a.conversationId))) {
      if (m.direction === 'incoming' && m.state !== 'read') {
        m.state = 'read';
        n++;
      }
    }
    return n;
  },
  set_typing: () => null,
  search: (a) => {
    const q = String(a.query).trim().toLowerCase();
    const limit = Number(a.limit ?? 50);
    const before = a.before === undefined || a.before === null ? Infinity : seqOf(a.before);
    const all = [...messages.values()].flat().filter((m) => m.seq < before && !m.deleted && m.body.toLowerCase().includes(q));
    all.sort((x, y) => y.seq - x.seq);
    return all.slice(0, limit).map((m): SearchResult => ({ message: present(m), snippet: highlight(m.body, q), conversation_title: publicUser(m.conversation_id).display_name }));
  },
  update_profile: (a) => {
    needOnline();
    const u = users.get(me as string)!;
    if (typeof a.displayName === 'string') u.display_name = a.displayName;
    if (typeof a.bio === 'string') u.bio = a.bio;
    if (typeof a.status === 'string') u.status = a.status;
    return publicUser(u.id);
  },
  upload_avatar: (a) => {
    needOnline();
    const bytes = a as unknown as Uint8Array;
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) return fail('invalid_image', 'No image.');
    avatarBytes.set(me as string, bytes);
    const u = users.get(me as string)!;
    u.avatar_url = `/avatars/${u.id}?v=${Date.now()}`;
    return publicUser(u.id);
  },
  avatar: (a) => {
    // Before the session is up the real one may fail: `avatars=late` does until online.
    if (avatarsParam === 'late' && connection !== 'online') return fail('not_online', 'Not online yet.');
    return avatarBytes.get(String(a.userId)) ?? new Uint8Array(0);
  },
  safety_numbers: (a) => {
    needSession();
    const id = publicUser(String(a.userId)).id;
    return pinsOf(id).map((p): SafetyNumber => ({ user_id: id, device: p.device, number: p.number, verified: p.verified, changed: p.changed, qr_svg: qrSvg(p.number) }));
  },
  verify_contact: (a) => {
    needSession();
    const id = publicUser(String(a.userId)).id;
    // As the core: every device met, except one whose change is pending.
    const marked = pinsOf(id).filter((p) => !p.changed);
    if (marked.length === 0) return fail('nothing_to_verify', `nothing to verify: Parley has not connected directly with ${id} yet`);
    for (const p of marked) p.verified = true;
    return marked.length;
  },
  accept_identity: (a) => {
    needSession();
    const id = publicUser(String(a.userId)).id;
    const changed = pinsOf(id).filter((p) => p.changed);
    for (const p of changed) {
      p.changed = false;
      p.verified = false;
    }
    // The held messages go out.
    if (changed.length > 0) for (const m of conv(id)) if (m.direction === 'outgoing' && m.state === 'pending') void mock.setState(m.id, 'sent');
    return changed.length;
  },
  trust_server: (a) => {
    const hex = certHex(String(a.fingerprint));
    if (hex === null) return fail('invalid_invite', `${JSON.stringify(a.fingerprint)} is not a certificate fingerprint: expected 64 hex digits (SHA-256)`);
    pinned.set(String(a.url), hex);
    return null;
  },
  allow_plain_http: (a) => {
    plainHttpAllowed.add(String(a.url));
    return null;
  },
  set_sharing: (a) => {
    if (a.on === true && !hosting) return fail('not_hosting', 'another Parley window on this computer runs this device\'s server: let others join from that one');
    sharingOn = a.on === true;
    settings = { ...settings, let_others_join: sharingOn };
    return sharingInfo();
  },
  sharing: () => sharingInfo(),
  discover_servers: async () => {
    const answer = discovery;
    await new Promise((resolve) => setTimeout(resolve, discoveryDelayMs));
    if ('error' in answer) throw answer.error;
    return answer.servers.map((x) => ({ ...x }));
  },
  get_settings: () => settings,
  set_settings: (a) => {
    const s = a.settings as Settings;
    if (!['system', 'light', 'dark'].includes(s.theme)) return fail('invalid_settings', 'theme: unknown theme.');
    settings = { ...s, ice_servers: s.ice_servers.map((x, i) => ({ ...x, has_credential: x.has_credential || ((a.iceCredentials as { index: number }[] | undefined) ?? []).some((c) => c.index === i) })) };
    return settings;
  },
  report_media_caps: () => null,
  ui_ready: () => null,
  // Recorded (`callsOf`): the system browser and the native title are the Rust side's.
  open_url: () => null,
  set_unread: () => null,
  ...fileHandlers,
  ...callHandlers,
};

async function emitEvent(event: CoreEvent): Promise<void> {
  await emit('core-event', event);
}

const mock = {
  calls,
  callsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  emit: emitEvent,
  /** A message from `from` arrives (`replyTo`: the id of the message it answers). */
  async receive(from: string, body: string, replyTo?: string): Promise<Message> {
    const m = store(from, 'incoming', body);
    if (replyTo !== undefined) m.reply_to = replyTo;
    await emitEvent({ event: 'message', message: present(m) });
    return present(m);
  },
  /** The contact edits their message `id`. */
  async peerEdit(id: string, body: string): Promise<void> {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    if (m === undefined) throw new Error(`no message ${id}`);
    m.body = body;
    m.edited_at = Date.now();
    await changed(m);
  },
  /** The contact deletes their message `id` for everyone. */
  async peerDelete(id: string): Promise<void> {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    if (m === undefined) throw new Error(`no message ${id}`);
    Object.assign(m, { deleted: true, body: '', reactions: [] });
    await changed(m);
  },
  /** The contact (the conversation's user) reacts to message `id` (null takes it back). */
  async peerReact(id: string, emoji: string | null): Promise<void> {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    if (m === undefined) throw new Error(`no message ${id}`);
    setReaction(m, m.conversation_id, emoji);
    await changed(m);
  },
  /** Moves a message's `sent_at` into the past (beyond the edit window, say). */
  age(id: string, ms: number): void {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    if (m !== undefined) m.sent_at -= ms;
  },
  /** The message with `id` as the core has it now (a copy). */
  message: (id: string) => {
    const m = [...messages.values()].flat().find((x) => x.id === id);
    return m === undefined ? null : present(m);
  },
  /** What the folder picker answers next (null: cancelled). */
  setPickedFolder(path: string | null): void {
    pickedFolder = path;
  },
  /** The person clicks a desktop notification about `conversationId` (Rust emits `open-conversation`). */
  notificationClicked: (conversationId: string) => emit('open-conversation', conversationId),
  async setState(id: string, state: DeliveryState): Promise<void> {
    for (const [conversation_id, list] of messages) {
      const m = list.find((x) => x.id === id);
      if (m !== undefined) {
        m.state = state;
        await emitEvent({ event: 'message-state', id, conversation_id, state });
      }
    }
  },
  lastMessage: (userId: string) => {
    const m = conv(userId)[conv(userId).length - 1];
    return m === undefined ? undefined : present(m);
  },
  /** The first message with `text` in it (in `conversation` only, when given). */
  messageWithBody: (text: string, conversation?: string) => {
    const m = (conversation === undefined ? [...messages.values()].flat() : conv(conversation)).find((x) => x.body.includes(text));
    return m === undefined ? undefined : present(m);
  },
  async goOffline(): Promise<void> {
    connection = 'offline';
    await emitEvent({ event: 'offline', reason: 'connection reset' });
  },
  /** Back online: the core rejoins the remembered rooms (`room-joined` with their rosters). */
  async goOnline(): Promise<void> {
    connection = 'online';
    await emitEvent({ event: 'online', peer_id: 'peer-alice', user: publicUser(me ?? 'alice') });
    for (const room of joined.keys()) {
      const peers = peersOf(room);
      joined.set(room, peers);
      await emitEvent({ event: 'room-joined', room, peers });
    }
  },
  typing: (userId: string, active: boolean) => emitEvent({ event: 'typing', user_id: userId, active }),
  /**
   * `userId`'s `device` proves a new key: a verified one is held until accepted (the number shown
   * is the new key's); an unverified one is simply replaced. Emits `identity-changed`.
   */
  async changeKey(userId: string, device = 'laptop'): Promise<void> {
    const pin = pinsOf(userId).find((p) => p.device === device);
    if (pin === undefined) throw new Error(`${userId} has no device ${device}`);
    pin.number = NEW_NUMBER;
    pin.changed = pin.verified;
    await emitEvent({ event: 'identity-changed', user_id: userId, device, verified: pin.verified });
  },
  /** `userId` connects from a device not seen before (pinned unverified). Emits `identity-new-device`. */
  async newDevice(userId: string, device: string): Promise<void> {
    pins.set(userId, [...pinsOf(userId), { device, number: NEW_NUMBER, verified: false, changed: false }]);
    await emitEvent({ event: 'identity-new-device', user_id: userId, device });
  },
  /** The recovery code this mock's history has. */
  recoveryCode: RECOVERY_CODE,
  /** What stops the profile from opening (null: nothing; "Try again" then opens it). */
  setStartupProblem(code: string | null): void {
    problem = code;
  },
  /** `userId`'s profile changes (`peer-updated` in every joined room they are in). */
  async updateUser(userId: string, fields: Partial<User>): Promise<void> {
    const u = users.get(userId);
    if (u === undefined) throw new Error(`no user ${userId}`);
    Object.assign(u, fields);
    for (const [room, peers] of joined) {
      const peer = peers.find((p) => p.user.id === userId);
      if (peer !== undefined) {
        peer.user = publicUser(userId);
        await emitEvent({ event: 'peer-updated', room, peer });
      }
    }
  },
  /**
   * What `discover_servers` answers from now on: `servers` (none: nobody found) or `error`
   * (`{code, message}`), after `delayMs` (default 300).
   */
  setDiscovery(answer: { servers?: DiscoveredServer[]; error?: { code: string; message: string }; delayMs?: number }): void {
    discovery = answer.error !== undefined ? { error: answer.error } : { servers: answer.servers ?? [] };
    if (answer.delayMs !== undefined) discoveryDelayMs = answer.delayMs;
  },
  /** The servers `discover_servers` finds by default. */
  discovered: DISCOVERED,
  /** A direct channel to `userId`'s `device` opens, travelling `route` (`connected`). */
  async connect(userId: string, route: Route | null, device = 'laptop'): Promise<void> {
    const open = channels.get(userId) ?? new Map<string, Route | null>();
    open.set(device, route);
    channels.set(userId, open);
    await emitEvent({ event: 'connected', peer_id: devicePeer(userId, device), user_id: userId, route });
  },
  /** The direct channel to `userId`'s `device` closes (`disconnected`). */
  async disconnect(userId: string, device = 'laptop'): Promise<void> {
    channels.get(userId)?.delete(device);
    await emitEvent({ event: 'disconnected', peer_id: devicePeer(userId, device), user_id: userId, reason: 'the channel closed' });
  },
  /** Whether this window hosts "This device" (false: `set_sharing(true)` fails with `not_hosting`). */
  setHosting(on: boolean): void {
    hosting = on;
  },
  /** Makes command `cmd` fail once with `code`. */
  failNext(cmd: string, code: string, message = 'Mock failure.'): void {
    failures.set(cmd, { code, message });
  },
  ...fileMock,
  ...callMock,
};
const failures = new Map<string, { code: string; message: string }>();

declare global {
  interface Window {
    __parleyMock: typeof mock;
    __pwned?: unknown;
  }
}
window.__parleyMock = mock;

if (params.get('tauri') !== '0') {
  fakeTauri((cmd, args, headers) => {
    callHeaders = headers;
    // The bytes of a pasted file, or of a call's frames, are not worth keeping: who and what, as the headers say.
    const pasted = cmd === 'send_pasted_file' && args instanceof Uint8Array;
    const media = cmd === 'media_send' && args instanceof Uint8Array;
    const name = callHeaders.get('Parley-Name');
    const user = callHeaders.get('Parley-User');
    calls.push({
      cmd,
      args: pasted
        ? { userId: user === null ? null : decodeURIComponent(user), name: name === null ? null : decodeURIComponent(name), size: args.byteLength }
        : media
          ? { callId: callHeaders.get('Parley-Call'), size: args.byteLength }
          : args,
    });
    if (problem !== null && !BEFORE_START.has(cmd)) throw { code: 'not_started', message: `Parley has not opened your profile: ${problem}` };
    const f = failures.get(cmd);
    if (f !== undefined) {
      failures.delete(cmd);
      throw f;
    }
    const handler = handlers[cmd];
    if (handler === undefined) throw { code: 'unknown_command', message: `The mock has no command ${cmd}.` };
    return handler((args ?? {}) as Args);
  });
}

