/**
 * Errors as a person reads them: plain words for the error codes of docs/app-ipc.md and for the
 * server's field checks, which errors are no news (never shown), and which ones stop holding once
 * the connection is back or a message got through.
 */
import { asSentence } from './startup';
import type { ErrorInfo } from '../types';

/**
 * A command's failure: `{code, message}`, and for `untrusted_certificate` and
 * `certificate_changed` the certificate the server presented (`sha256:3F2A 91BC …`).
 */
export type CoreError = ErrorInfo & { fingerprint?: string };

const TEXT: Record<string, string> = {
  invalid_credentials: 'Wrong username, email or password.',
  username_taken: 'That username is taken. Try another one.',
  email_taken: 'An account with that email already exists. Sign in instead?',
  server_unreachable:
    "Can't reach the server. Check the address and your network, or choose \u201cThis device\u201d.",
  server_protocol: "The server answered in a way Parley doesn't understand. Is it a Parley server?",
  invalid_server_url: "That server address isn't valid.",
  not_signed_in: 'You are signed out. Sign in again.',
  not_online: "You're offline. This works again once the connection is back.",
  keyring_unavailable:
    "Parley can't use the system keyring: it isn't running, or it is locked. Start or unlock it, then try again.",
  not_started: "Parley hasn't opened your profile yet. Restart Parley if this stays.",
  history_locked: 'Your history is locked. Enter your recovery code to open it.',
  invalid_recovery_code:
    "That isn't a recovery code. It has 52 letters and digits in groups of four, like ABCD-EFGH-\u2026",
  wrong_recovery_code:
    "That recovery code doesn't open this history. Check it for typos, or use the code you saved for this profile.",
  profile_in_use: 'Parley is already running with this profile in another window.',
  history_error: "Parley couldn't read or write its message history.",
  invalid_message: "That message can't be sent: it is empty or longer than 12,000 characters.",
  message_to_self: "You can't send a message to yourself.",
  unknown_contact: "This contact isn't known yet.",
  // Message actions (reply, edit, delete, react).
  not_your_message: 'You can only edit or delete your own messages.',
  edit_window_passed: 'That message is more than 24 hours old: it can no longer be edited or deleted for everyone. You can still delete it for you.',
  message_deleted: 'That message was deleted, so it can no longer be changed.',
  invalid_reaction: "That reaction isn't an emoji. Choose one from the list.",
  unknown_message: "That message isn't on this device any more.",
  nothing_to_verify:
    "There's nothing to verify yet: Parley hasn't connected directly with this contact. Chat with them first.",
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  payload_too_large: 'That file is too large (5 MiB at most).',
  unsupported_media_type: 'Use a PNG, JPEG, GIF or WebP image.',
  invalid_image: "That image couldn't be read.",
  embedded_server_failed: "The server on this device couldn't start. Restart Parley, or choose another server.",
  // A server's connection (the sign-in screen shows the first three in panels of their own).
  untrusted_certificate:
    "No certificate authority vouches for this server's certificate. Compare its fingerprint with the one its owner shows before you trust it.",
  certificate_changed:
    'This server presented a different certificate from the one you trusted for it. Someone may be posing as the server, so Parley did not connect.',
  plain_http: 'This address uses plain http:// to another computer: nothing sent to it is encrypted.',
  discovery_unavailable: "Parley can't look for servers on this network right now.",
  not_hosting:
    'Another Parley window on this computer runs the server of \u201cThis device\u201d. Let others join from that window.',
  // The server's own codes (docs/protocol.md) that can reach a person.
  unknown_peer: "That contact isn't online right now. Your messages wait and go out when they are.",
  invalid_room: 'A room name can have letters, digits, spaces and the signs _ . - #, up to 64 characters.',
  too_many_rooms: "You're in as many rooms as the server allows. Leave one to join another.",
  room_full: 'That room is full. Try again later, or join another room.',
  unavailable: 'The server is busy or restarting. Parley keeps trying: wait a moment.',
  internal: 'The server ran into a problem. Try again in a moment.',
  unauthorized: 'The server no longer accepts your sign-in. Sign out and sign in again.',
  settings_unavailable: "Parley couldn't save its settings. Check that its folder can be written to, then try again.",
  no_server: 'Choose a server first: \u201cThis device\u201d or another one.',
  // Files (docs/file-protocol.md).
  file_unreadable: "That file couldn't be read. Check that it still exists and that you may open it, then try again.",
  not_a_file: "That isn't a file (a folder, perhaps). Send the files in it instead.",
  file_too_large: 'That file is too large to send.',
  file_changed: 'That file changed while Parley was reading it. Wait until it is saved, then send it again.',
  unknown_transfer: "That file isn't on this device any more.",
  transfer_finished: 'That file is already finished.',
  file_missing: 'The file was moved or deleted, so it can no longer be opened from here.',
  folder_missing: "The download folder doesn't exist. Choose another one in Settings.",
  not_a_folder: "The download folder isn't a folder. Choose another one in Settings.",
  folder_read_only: "Parley can't write to the download folder. Choose another one in Settings.",
  picture_unavailable: "This picture can't be shown here. Open the file with another program instead.",
  disk_full: 'The disk is full. Free some space, then try again.',
  downloads_unavailable: 'The download folder is missing or read-only. Choose another one in Settings, then try again.',
  // Calls (docs/call-protocol.md).
  not_reachable: 'They aren\u2019t online, so they can\u2019t be called now. Send a message instead.',
  already_in_call: 'You\u2019re already in a call. Hang up first.',
  call_to_self: 'You can\u2019t call yourself.',
  no_such_call: 'That call is already over.',
  call_not_now: 'That can\u2019t be done at this point of the call.',
  invalid_call_signal: 'The call\u2019s connection sent something out of bounds.',
};

/**
 * Errors that are no news to a person: sending to a contact who is offline is normal (messages
 * wait in the outbox), and so is the server saying so. Never shown as a notice.
 */
const QUIET = new Set(['unknown_peer', 'not_in_room']);

/**
 * Errors about the connection or delivery: they stop holding once the connection is back, or a
 * message got through (the notice goes away by itself then).
 */
const TRANSIENT = new Set([
  'server_unreachable',
  'not_online',
  'unavailable',
  'internal',
  'rate_limited',
  'embedded_server_failed',
  'unknown_peer',
  'not_in_room',
]);

/** Codes whose message is about a field the person typed: reworded by `fieldText`. */
const FIELD_CODES = new Set(['invalid_input', 'invalid_room', 'invalid_settings']);

/** What people call the fields the server's checks name. */
const FIELD_NAMES: Record<string, string> = {
  username: 'A username',
  email: 'An email address',
  password: 'A password',
  display_name: 'A display name',
  bio: '\u201cAbout you\u201d',
  status: 'A status',
  'room name': 'A room name',
  room: 'A room name',
  login: 'Your username or email',
};

/** The server's checks (parley-protocol's `validate`), in plain words. */
const FIELD_RULES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^username must be (\d+) to (\d+) characters/i, (m) => `A username has ${m[1]} to ${m[2]} characters. Choose another one.`],
  [/^username may contain only/i, () => 'A username can only have letters, digits and the signs _ . - and starts with a letter or digit.'],
  [/^email must look like/i, () => 'Enter an email address like name@example.org.'],
  [/^email must be at most/i, () => 'That email address is too long.'],
  [/^password must be at least (\d+) characters/i, (m) => `Choose a password of at least ${m[1]} characters.`],
  [/^password must be at most/i, () => 'That password is too long.'],
  [/^login must be/i, () => 'Enter your username or email.'],
  [/^room name must be 1 to (\d+) characters/i, (m) => `A room name can have at most ${m[1]} characters.`],
  [/^room name must not start or end with a space/i, () => "A room name can't start or end with a space."],
  [/^room name may contain/i, () => 'A room name can only have letters, digits, spaces and the signs _ . - #. Remove the other characters.'],
  [/^(\w[\w ]*?) must not be empty/i, (m) => `${fieldName(m[1] as string)} can't be empty.`],
  [/^(\w[\w ]*?) must be at most (\d+) characters/i, (m) => `${fieldName(m[1] as string)} can have at most ${m[2]} characters.`],
  [/^(\w[\w ]*?) must not contain control characters/i, (m) => `${fieldName(m[1] as string)} can't contain tabs or other control characters.`],
];

/** The subject of a sentence about a field: "A display name", or the field's words. */
function fieldName(field: string): string {
  return FIELD_NAMES[field.toLowerCase()] ?? fieldLabel(field);
}

/** A field as a label: "display_name" → "Display name". */
function fieldLabel(field: string): string {
  const words = field.trim().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A field check's message in plain words: the server's known checks reworded, anything else
 * ("download folder: give a full path …") as a sentence with its field named for people.
 */
export function fieldText(message: string): string {
  const text = message.trim();
  for (const [pattern, words] of FIELD_RULES) {
    const m = text.match(pattern);
    if (m !== null) return words(m);
  }
  const named = text.match(/^([a-z_ ]+):\s*(.+)$/i);
  if (named !== null) return asSentence(`${fieldLabel(named[1] as string)}: ${named[2] as string}`);
  return asSentence(text);
}

/** The friendly words for a code, when there are some. */
export function knownErrorText(code: string): string | null {
  return Object.hasOwn(TEXT, code) ? (TEXT[code] ?? null) : null;
}

export function errorText(error: ErrorInfo): string {
  if (FIELD_CODES.has(error.code) && error.message !== '') return fieldText(error.message);
  if (error.code === 'invalid_invite') {
    const why = error.message.trim().replace(/\.$/, '');
    return `That invite can't be used${why === '' ? '' : `: ${why}`}. Copy the whole invite again from the server's owner.`;
  }
  const text = knownErrorText(error.code);
  if (text !== null) return text;
  return error.message !== '' ? asSentence(error.message) : 'Something went wrong. Try again.';
}

/** Whether an error is no news to a person (never shown in the notice). */
export function isQuietError(code: string): boolean {
  return QUIET.has(code);
}

/** Whether an error is about the connection or delivery: gone once online, or once a message got through. */
export function isTransientError(code: string): boolean {
  return TRANSIENT.has(code);
}

/**
 * The form field an error is about (`username`, `email`, `password`, `display_name`, `login`,
 * `room`, `server`), so that a form can point at it and take the error away once it is changed.
 */
export function errorField(error: ErrorInfo): string | null {
  switch (error.code) {
    case 'username_taken':
      return 'username';
    case 'email_taken':
      return 'email';
    case 'invalid_credentials':
      return 'login';
    case 'invalid_room':
      return 'room';
    case 'invalid_invite':
    case 'invalid_server_url':
      return 'server';
    default:
      break;
  }
  if (error.code !== 'invalid_input') return null;
  const m = error.message.trim().match(/^(username|email|password|display_name|login|room name)\b/i);
  if (m === null) return null;
  const field = (m[1] as string).toLowerCase();
  return field === 'room name' ? 'room' : field;
}

/** Turns whatever a rejected `invoke` carries into `{code, message}` (and `fingerprint`, when there is one). */
export function toCoreError(e: unknown): CoreError {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const { code, message, fingerprint } = e as { code: unknown; message?: unknown; fingerprint?: unknown };
    const error: CoreError = { code: String(code), message: typeof message === 'string' ? message : '' };
    if (typeof fingerprint === 'string' && fingerprint.trim() !== '') error.fingerprint = fingerprint;
    return error;
  }
  if (typeof e === 'string') return { code: 'unknown', message: e };
  return { code: 'unknown', message: e instanceof Error ? e.message : String(e) };
}

/** The words shown for a caught error, whatever it is. */
export function describeError(e: unknown): string {
  return errorText(toCoreError(e));
}
