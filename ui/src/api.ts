/**
 * Typed wrappers for the commands of docs/app-ipc.md and the `core-event` stream. The types, the
 * command names (`Command`) and the limits are generated from the Rust side (`types.ts`), so a
 * call to a command that does not exist fails the type check.
 */
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type {
  AppInfo,
  CallIceServer,
  CallMicrophone,
  CallSpeaker,
  CallSignal,
  CallView,
  Contact,
  Conversation,
  Command,
  DiscoveredServer,
  CoreEvent,
  Numbered,
  RoomSummary,
  IceCredential,
  MediaCaps,
  Message,
  Page,
  RoomState,
  SafetyNumber,
  SearchResult,
  ServerChoice,
  Settings,
  Sharing,
  Snapshot,
  StartupStatus,
  StoreKind,
  User,
} from './types';
import { toCoreError } from './model/errors';

/** `invoke` hands raw bytes over as an ArrayBuffer; a Uint8Array or a number array (mocks, JSON) is taken too. */
function toBytes(data: ArrayBuffer | Uint8Array | number[]): Uint8Array<ArrayBuffer> {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return Uint8Array.from(data);
  return new Uint8Array(data);
}

async function call<T>(cmd: Command, args?: Parameters<typeof invoke>[1], options?: Parameters<typeof invoke>[2]): Promise<T> {
  try {
    return await invoke<T>(cmd, args, options);
  } catch (e) {
    throw toCoreError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  /** Whether the profile is open, or why not (the start-up screen). Works before it is. */
  startupStatus: () => call<StartupStatus>('startup_status'),
  /** Opens the profile again; with `keyring`, switches to that keyring first (remembered). */
  retryStartup: (keyring?: StoreKind) => call<StartupStatus>('retry_startup', keyring === undefined ? {} : { keyring }),
  /** Opens a locked history; rejects with `invalid_recovery_code` / `wrong_recovery_code`. */
  unlockHistory: (recoveryCode: string) => call<StartupStatus>('unlock_history', { recoveryCode }),
  recoveryCode: () => call<string>('recovery_code'),
  /** The person saved the recovery code: `recovery_code_pending` goes false. */
  recoveryCodeSaved: () => call<Numbered<Snapshot>>('recovery_code_saved'),
  snapshot: () => call<Numbered<Snapshot>>('snapshot'),
  restoreSession: () => call<Numbered<Snapshot>>('restore_session'),
  signIn: (server: ServerChoice, login: string, password: string) =>
    call<Numbered<Snapshot>>('sign_in', { server, login, password }),
  signUp: (server: ServerChoice, username: string, email: string, password: string, displayName?: string) =>
    call<Numbered<Snapshot>>('sign_up', { server, username, email, password, displayName }),
  /** `keepHistory: false` deletes this profile's history on this device. */
  signOut: (keepHistory: boolean) => call<Numbered<Snapshot>>('sign_out', { keepHistory }),
  roomDirectory: () => call<RoomSummary[]>('room_directory'),
  joinRoom: (room: string) => call<RoomState>('join_room', { room }),
  leaveRoom: (room: string) => call<void>('leave_room', { room }),
  contacts: () => call<Contact[]>('contacts'),
  openConversation: (userId: string) => call<Conversation>('open_conversation', { userId }),
  historyPage: (conversationId: string, before?: string, limit?: number) =>
    call<Page>('history_page', { conversationId, before, limit }),
  historyAfter: (conversationId: string, after: string, limit?: number) =>
    call<Page>('history_after', { conversationId, after, limit }),
  messageCursor: (messageId: string) => call<string>('message_cursor', { messageId }),
  /** `replyTo`: the id of the message of this conversation it answers. */
  sendMessage: (userId: string, body: string, replyTo?: string) =>
    call<Message>('send_message', replyTo === undefined ? { userId, body } : { userId, body, replyTo }),
  /** One of our messages within `LIMITS.editWindowMs`; answers it as it now is. */
  editMessage: (conversationId: string, id: string, body: string) => call<Message>('edit_message', { conversationId, id, body }),
  /** For everyone (ours, within the window: a placeholder on both sides), or on this device only. */
  deleteMessage: (conversationId: string, id: string, forEveryone: boolean) => call<null>('delete_message', { conversationId, id, forEveryone }),
  /** Our reaction (one per person; a new one replaces it), null takes it back; answers the message. */
  react: (conversationId: string, id: string, emoji: string | null) => call<Message>('react', { conversationId, id, emoji }),
  markRead: (conversationId: string) => call<number>('mark_read', { conversationId }),
  setTyping: (userId: string, active: boolean) => call<void>('set_typing', { userId, active }),
  search: (query: string, before?: string, limit?: number) =>
    call<SearchResult[]>('search', { query, before, limit }),
  updateProfile: (fields: { displayName?: string; bio?: string; status?: string }) =>
    call<User>('update_profile', fields),
  uploadAvatar: (bytes: Uint8Array) => call<User>('upload_avatar', bytes),
  /** The avatar's bytes, empty when there is none. */
  avatar: (userId: string) => call<ArrayBuffer | Uint8Array | number[]>('avatar', { userId }).then(toBytes),
  /** One per device of the contact this device has met (none before the first direct connection). */
  safetyNumbers: (userId: string) => call<SafetyNumber[]>('safety_numbers', { userId }),
  /** How many devices were marked verified; rejects with `nothing_to_verify` when none was met. */
  verifyContact: (userId: string) => call<number>('verify_contact', { userId }),
  /** How many devices' changed keys were accepted (they become unverified; held messages go out). */
  acceptIdentity: (userId: string) => call<number>('accept_identity', { userId }),
  /** Trusts `url`'s certificate with this fingerprint (compared by the person): only it, from now on. */
  trustServer: (url: string, fingerprint: string) => call<null>('trust_server', { url, fingerprint }),
  /** The person agreed to sign in to `url` (another computer) over plain http. */
  allowPlainHttp: (url: string) => call<null>('allow_plain_http', { url }),
  /** "Let others join": opens (or closes) this device's server to the network; saves `let_others_join`. */
  setSharing: (on: boolean) => call<Sharing | null>('set_sharing', { on }),
  /** Whether this device's server is open to others now, with its invites. */
  sharing: () => call<Sharing | null>('sharing'),
  /** Listens ~2 s for Parley servers on the local network that let others join (multicast DNS). */
  discoverServers: () => call<DiscoveredServer[]>('discover_servers'),
  getSettings: () => call<Settings>('get_settings'),
  setSettings: (settings: Settings, iceCredentials?: IceCredential[]) =>
    call<Settings>('set_settings', { settings, iceCredentials }),
  reportMediaCaps: (caps: MediaCaps) => call<void>('report_media_caps', { caps }),
  // Calls (docs/call-protocol.md): `call` and `call-signal` events follow each of these.
  /** Rings every online device of `userId`; video, or sound only. */
  startCall: (userId: string, video: boolean) => call<CallView>('start_call', { userId, video }),
  answerCall: (callId: string) => call<null>('answer_call', { callId }),
  declineCall: (callId: string) => call<null>('decline_call', { callId }),
  /** Cancels (ringing there), declines (ringing here) or hangs up (answered). */
  hangUp: (callId: string) => call<null>('hang_up', { callId }),
  /** Our description (the caller offers, the callee answers) or ICE candidate, for the other side. */
  callSignal: (callId: string, signal: CallSignal) => call<null>('call_signal', { callId, signal }),
  /** The page's media connection is up (null: the call becomes active) or failed (why, in words). */
  callMediaState: (callId: string, failure: string | null) => call<null>('call_media_state', { callId, failure }),
  /** What this side sends now (muted, camera off): the other side is told. */
  setCallMedia: (callId: string, audio: boolean, video: boolean) => call<null>('set_call_media', { callId, audio, video }),
  // The media bridge (docs/call-media-bridge.md): the call's media connection in Rust, for a
  // webview without WebRTC. Each fails with `no_such_call` once the call's connection is gone.
  mediaOpen: (callId: string, offerer: boolean, video: boolean, iceServers: CallIceServer[]) =>
    call<null>('media_open', { callId, offerer, video, iceServers }),
  mediaSignal: (callId: string, signal: CallSignal) => call<null>('media_signal', { callId, signal }),
  /** Encoded frames as records: the raw body, the call in the `Parley-Call` header. */
  mediaSend: (callId: string, records: Uint8Array<ArrayBuffer>) => call<null>('media_send', records, { headers: { 'Parley-Call': callId } }),
  /** Records (frames and events); waits up to 1 s for one, and answers no bytes when none came. */
  mediaReceive: (callId: string) => call<ArrayBuffer | Uint8Array | number[] | null>('media_receive', { callId }).then((data) => toBytes(data ?? [])),
  /** The microphone the page opened, by its label: captured and sent by the app when it can (then the page sends no sound). */
  mediaMicrophone: (callId: string, label: string, on: boolean) => call<CallMicrophone>('media_microphone', { callId, label, on }),
  /** The other side's sound: played by the app when it can (then the page gets none to play). */
  mediaSpeaker: (callId: string) => call<CallSpeaker>('media_speaker', { callId }),
  mediaClose: (callId: string) => call<null>('media_close', { callId }),
  /** The call going on or ringing (after a reload), if any. */
  currentCall: () => call<CallView | null>('current_call'),
  /** The first screen is on display (the app logs the time since start: the footprint benchmark's first paint). */
  uiReady: (firstContentfulPaint: number | null) => call<void>('ui_ready', { firstContentfulPaint }),
  /** Opens an http(s) or mailto URL in the system's browser or mail app (never in this window). */
  openUrl: (url: string) => call<null>('open_url', { url }),
  /** The total of unread messages, for the window's title (and a taskbar/dock badge where there is one). */
  setUnread: (count: number) => call<null>('set_unread', { count }),
  /** The system's folder picker, opening at `current`; null when cancelled. */
  pickFolder: (current?: string) => call<string | null>('pick_folder', current === undefined ? {} : { current }),
  /** The system's file picker (several files): their paths, none when cancelled. */
  pickFiles: () => call<string[]>('pick_files'),
  /** Offers files from disk (picked or dropped) to `userId`: one file message each, in order. */
  sendFiles: (userId: string, paths: string[]) => call<Message[]>('send_files', { userId, paths }),
  /**
   * Offers a file the page holds (a pasted image; a file dropped where there are no paths): the
   * bytes are the raw body, the contact and the name go as URI-encoded headers.
   */
  sendPastedFile: (userId: string, name: string, bytes: Uint8Array) =>
    call<Message>('send_pasted_file', bytes, {
      headers: { 'Parley-User': encodeURIComponent(userId), 'Parley-Name': encodeURIComponent(name) },
    }),
  /** A file waiting for our decision: accept it (it is queued) or decline it. Answer: the message as it now is. */
  acceptFile: (conversationId: string, id: string) => call<Message>('accept_file', { conversationId, id }),
  declineFile: (conversationId: string, id: string) => call<Message>('decline_file', { conversationId, id }),
  /** Stops a transfer either way (the other side is told). */
  cancelFile: (conversationId: string, id: string) => call<Message>('cancel_file', { conversationId, id }),
  /** Continues a paused transfer (the disk has room again, the download folder is back). */
  resumeFile: (conversationId: string, id: string) => call<Message>('resume_file', { conversationId, id }),
  /** Opens a file message's file with the system's program for it. */
  openFile: (id: string) => call<null>('open_file', { id }),
  /** Shows a file message's file in the system's file manager. */
  showFile: (id: string) => call<null>('show_file', { id }),
  /** The system's save dialog, then a copy there: the path saved, or null when cancelled. */
  saveFileAs: (id: string) => call<string | null>('save_file_as', { id }),
  /** The full picture of an image file, as the core re-encoded it (JPEG or PNG, at most 2560 px). */
  picture: (id: string) => call<ArrayBuffer | Uint8Array | number[]>('picture', { id }).then(toBytes),
  /** Calls `handler` with every `core-event` payload; resolves to the function that stops it. */
  onCoreEvent: (handler: (event: Numbered<CoreEvent>) => void): Promise<() => void> =>
    listen<Numbered<CoreEvent>>('core-event', (e) => handler(e.payload)),
  /** Calls `handler` with the conversation id of a desktop notification the person clicked. */
  onOpenConversation: (handler: (conversationId: string) => void): Promise<() => void> =>
    listen<string>('open-conversation', (e) => handler(e.payload)),
};

export type Api = typeof api;
