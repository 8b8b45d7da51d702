/** Errors as a person reads them: friendly words for the error codes of docs/app-ipc.md. */
import type { ErrorInfo } from '../types';

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
  nothing_to_verify:
    "There's nothing to verify yet: Parley hasn't connected directly with this contact. Chat with them first.",
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  payload_too_large: 'That file is too large (5 MiB at most).',
  unsupported_media_type: 'Use a PNG, JPEG, GIF or WebP image.',
  invalid_image: "That image couldn't be read.",
  embedded_server_failed: "The server on this device couldn't start.",
};

/** Codes whose core message names the field or value at fault: show it as it is. */
const SPECIFIC = new Set(['invalid_input', 'invalid_settings']);

/** The friendly words for a code, when there are some. */
export function knownErrorText(code: string): string | null {
  return Object.hasOwn(TEXT, code) ? (TEXT[code] ?? null) : null;
}

export function errorText(error: ErrorInfo): string {
  if (SPECIFIC.has(error.code) && error.message !== '') return error.message;
  const text = knownErrorText(error.code);
  if (text !== null) return text;
  return error.message !== '' ? error.message : 'Something went wrong.';
}

/** Turns whatever a rejected `invoke` carries into `{code, message}`. */
export function toCoreError(e: unknown): ErrorInfo {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const { code, message } = e as { code: unknown; message?: unknown };
    return { code: String(code), message: typeof message === 'string' ? message : '' };
  }
  if (typeof e === 'string') return { code: 'unknown', message: e };
  return { code: 'unknown', message: e instanceof Error ? e.message : String(e) };
}

/** The words shown for a caught error, whatever it is. */
export function describeError(e: unknown): string {
  return errorText(toCoreError(e));
}
