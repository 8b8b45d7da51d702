// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit.
// `PARLEY_UPDATE_BINDINGS=1 cargo test -p parley bindings` writes it again.

// The signaling server's types (parley-protocol).
export type User = { 
/**
 * Stable and unique; never shown to people.
 */
id: string, 
/**
 * Unique, chosen at sign-up; see [`validate::username`].
 */
username: string, 
/**
 * What others see; defaults to the username.
 */
display_name: string, 
/**
 * A few lines about the person (may be empty).
 */
bio: string, 
/**
 * A short status line (may be empty).
 */
status: string, 
/**
 * Relative URL of the avatar (changes whenever the avatar does), or null.
 */
avatar_url: string | null, 
/**
 * Unix seconds.
 */
created_at: number, 
/**
 * Only on your own account.
 */
email?: string | null, };
export type Peer = { 
/**
 * Chosen by the server per connection; dies with it.
 */
peer_id: string, 
/**
 * Whose connection this is, as the server vouches.
 */
user: User, };
export type RoomSummary = { 
/**
 * See [`validate::room`].
 */
name: string, 
/**
 * Peers (connections, not users) currently in the room.
 */
online: number, };

// The history (parley-history).
export type Direction = "outgoing" | "incoming";
export type DeliveryState = "pending" | "sent" | "delivered" | "received" | "read";
export type Reaction = { 
/**
 * Who reacted.
 */
user_id: string, 
/**
 * The emoji.
 */
emoji: string, };
export type ReplyPreview = { 
/**
 * The quoted message's id (to jump to it).
 */
id: string, 
/**
 * Its author.
 */
sender_id: string, 
/**
 * Its first characters; empty when it was deleted.
 */
text: string, 
/**
 * Deleted for everyone since.
 */
deleted: boolean, };
export type TransferState = "waiting" | "awaiting-accept" | "transferring" | "paused" | "complete" | "declined" | "cancelled" | "failed";
export type FileTransfer = { 
/**
 * The file's name: the sender's own, or on the receiver the offered one made safe.
 */
name: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * The sender's MIME type (a hint; previews never trust it).
 */
mime: string, 
/**
 * Lowercase hex SHA-256 of the whole file, from the offer.
 */
sha256: string, 
/**
 * Image dimensions, when it is a picture.
 */
width: number | null, 
/**
 * See `width`.
 */
height: number | null, 
/**
 * A small JPEG preview, base64 (made by the sender; re-encoded by the receiver).
 */
thumbnail: string | null, 
/**
 * Where it is.
 */
state: TransferState, 
/**
 * Bytes the receiver has durably stored (what a resume starts from).
 */
bytes_done: number, 
/**
 * Why it failed or paused: a code from `docs/file-protocol.md`.
 */
error: string | null, 
/**
 * The sender's file, or where the receiver saved it once complete.
 */
path: string | null, 
/**
 * `path` no longer exists (moved or deleted since).
 */
missing: boolean, };
export type CallOutcome = "answered" | "missed" | "declined" | "busy" | "no-answer" | "cancelled" | "unreachable" | "unsupported" | "failed" | "answered-elsewhere" | "declined-elsewhere";
export type CallRecord = { 
/**
 * A video call (false: sound only).
 */
video: boolean, 
/**
 * How it ended.
 */
outcome: CallOutcome, 
/**
 * How long it went on once answered, in milliseconds.
 */
duration_ms: number | null, };
export type Message = { 
/**
 * Chosen by the sender and globally unique, so resends can be recognised.
 */
id: string, 
/**
 * The remote user's id.
 */
conversation_id: string, 
/**
 * Written here or arrived.
 */
direction: Direction, 
/**
 * The author's user id.
 */
sender_id: string, 
/**
 * The text, as written.
 */
body: string, 
/**
 * Unix milliseconds on the sender's clock, which may disagree with ours.
 */
sent_at: number, 
/**
 * Unix milliseconds on this device's clock; None for outgoing messages.
 */
received_at: number | null, 
/**
 * Where it is in its life.
 */
state: DeliveryState, 
/**
 * Local insertion order: the order messages are shown in and paged by, immune to clock skew.
 */
seq: number, 
/**
 * The message this one answers, if any.
 */
reply_to: string | null, 
/**
 * When the author last edited it (Unix milliseconds, author's clock); None if never.
 */
edited_at: number | null, 
/**
 * Deleted for everyone by its author: the body is gone, the place in the conversation stays.
 */
deleted: boolean, 
/**
 * Reactions, one per person at most, oldest first.
 */
reactions: Array<Reaction>, 
/**
 * What the quoted message ([`Message::reply_to`]) says, for showing the quote; None when it
 * is not stored here (older than this device's history) or there is no quote.
 */
reply: ReplyPreview | null, 
/**
 * The file this message carries, if it is a file message (its `body` is then the name).
 */
file: FileTransfer | null, 
/**
 * The call this entry records, if it is one (its `body` then says which kind).
 */
call: CallRecord | null, };
export type Conversation = { 
/**
 * The remote user's id.
 */
id: string, 
/**
 * Their display name, as last known.
 */
title: string, 
/**
 * The newest message, if any.
 */
last_message: Message | null, 
/**
 * Incoming messages not yet marked read.
 */
unread: number, 
/**
 * Unix milliseconds on this device's clock of the last activity (creation or a new message).
 */
updated_at: number, };
export type Page = { 
/**
 * Newest first.
 */
messages: Array<Message>, 
/**
 * Pass back as `before` for the next (older) page; None once the conversation's start is reached.
 */
next: string | null, };

// The core's front door (parley-core).
export type ServerChoice = { "kind": "embedded" } | { "kind": "url", 
/**
 * As typed; normalised when used (see `ServerUrl`).
 */
url: string, };
export type Connection = "signed-out" | "connecting" | "online" | "offline";
export type ErrorInfo = { 
/**
 * Stable, for programs (see `CoreError::code`).
 */
code: string, 
/**
 * For people.
 */
message: string, };
export type RoomState = { 
/**
 * The room's name.
 */
room: string, 
/**
 * Everyone else in it (empty while offline).
 */
peers: Array<Peer>, };
export type Snapshot = { 
/**
 * Where the session stands.
 */
connection: Connection, 
/**
 * Who is signed in: as the server last said, or (offline) as this device remembers.
 */
me: User | null, 
/**
 * The last username used on this profile (prefills sign-in; names the offline user).
 */
username: string | null, 
/**
 * The server chosen for this session.
 */
server: ServerChoice, 
/**
 * The URL in use (also for "This device").
 */
server_url: string | null, 
/**
 * Joined rooms with their rosters.
 */
rooms: Array<RoomState>, 
/**
 * Why the last restore or connection failed, while it holds.
 */
error: ErrorInfo | null, 
/**
 * The history's recovery code has not been confirmed as saved yet: show it
 * (`Parley::recovery_code`) until the person has (`Parley::recovery_code_saved`).
 */
recovery_code_pending: boolean, };
export type Contact = { 
/**
 * Their public profile, the freshest known.
 */
user: User, 
/**
 * At least one of their devices shares a room with us now.
 */
online: boolean, 
/**
 * How the direct channel to them travels, while one is open (the best of their devices').
 */
route: Route | null, 
/**
 * Our conversation with them, if there is one.
 */
conversation: Conversation | null, };
export type SearchResult = { 
/**
 * The whole message.
 */
message: Message, 
/**
 * The text around the match, matched terms between U+0002 and U+0003.
 */
snippet: string, 
/**
 * The title of the conversation it is in.
 */
conversation_title: string, };
export type SafetyNumber = { 
/**
 * The contact's user id.
 */
user_id: string, 
/**
 * Their device (as it identified itself).
 */
device: string, 
/**
 * 60 digits, the same on both sides; in twelve groups of five.
 */
number: string, 
/**
 * The person compared it and marked the contact verified.
 */
verified: boolean, 
/**
 * This device proved a different key since: the number shown is the one of the new key,
 * which the person must accept (and should compare again) before sending resumes.
 */
changed: boolean, 
/**
 * The number as a QR code (SVG), for scanning instead of reading aloud.
 */
qr_svg: string, };
export type Sharing = { 
/**
 * The TCP port others connect to (the firewall must let it in).
 */
port: number, 
/**
 * The certificate's fingerprint, grouped for reading out (`3F2A 91BC …`).
 */
fingerprint: string, 
/**
 * One invite per address of this computer (`parley://join?…`), the likeliest first.
 */
invites: Array<string>, 
/**
 * The addresses, as people read them (`192.168.1.20:7891`), in the same order.
 */
addresses: Array<string>, 
/**
 * The first invite as a QR code (SVG).
 */
qr_svg: string, };
export type Route = "direct" | "through-nat" | "relayed";
export type DiscoveredServer = { 
/**
 * What it calls itself ("Parley on kim-laptop"), cleaned: show as text only.
 */
name: string, 
/**
 * Where it answers, `192.168.1.20:7891`.
 */
address: string, 
/**
 * Its certificate's fingerprint as it announced it, grouped for comparing by eye.
 */
fingerprint: string, 
/**
 * The invite made of the two: signing in with it pins that certificate.
 */
invite: string, };
export type Party = "me" | "them";
export type CallPhase = "calling" | "ringing-there" | "ringing-here" | "connecting" | "active" | "ended";
export type CallEnd = { "kind": "declined", 
/**
 * Who declined.
 */
by: Party, } | { "kind": "busy" } | { "kind": "no-answer" } | { "kind": "cancelled" } | { "kind": "missed" } | { "kind": "answered-elsewhere" } | { "kind": "declined-elsewhere" } | { "kind": "unreachable" } | { "kind": "unsupported" } | { "kind": "failed", 
/**
 * What broke, in words.
 */
reason: string, } | { "kind": "hung-up", 
/**
 * Who hung up.
 */
by: Party, } | { "kind": "merged" };
export type CallView = { 
/**
 * The call's id (every call command names it).
 */
id: string, 
/**
 * The other person.
 */
user_id: string, 
/**
 * Placed here (true) or received.
 */
outgoing: boolean, 
/**
 * A video call (false: sound only).
 */
video: boolean, 
/**
 * Where it is.
 */
phase: CallPhase, 
/**
 * How it ended, once [`CallPhase::Ended`].
 */
end: CallEnd | null, 
/**
 * Whether the other side sends sound / picture now (they muted, or turned the camera off).
 */
remote_audio: boolean, 
/**
 * See `remote_audio`.
 */
remote_video: boolean, 
/**
 * Unix milliseconds when it started ringing, and when the media connected (the duration
 * runs from there).
 */
started_at: number, 
/**
 * See `started_at`.
 */
answered_at: number | null, };
export type SdpKind = "offer" | "answer";
export type CallIceServer = { 
/**
 * `stun:`/`turn:` URLs of one server.
 */
urls: Array<string>, 
/**
 * TURN only.
 */
username: string | null, 
/**
 * TURN only; a secret.
 */
credential: string | null, };
export type CallSignal = { "kind": "start", 
/**
 * This side makes the offer.
 */
offerer: boolean, 
/**
 * For `RTCPeerConnection`'s `iceServers`.
 */
ice_servers: Array<CallIceServer>, } | { "kind": "sdp", 
/**
 * Offer or answer.
 */
sdp_kind: SdpKind, 
/**
 * The description.
 */
sdp: string, } | { "kind": "ice", 
/**
 * The `candidate:` line.
 */
candidate: string, 
/**
 * `sdpMid`.
 */
mid: string | null, 
/**
 * `sdpMLineIndex`.
 */
mline: number | null, };
export type MediaConnectionState = "connecting" | "connected" | "disconnected" | "failed" | "closed";
export type CallMicrophone = { 
/**
 * Captured from the desktop's sound server and sent by the app.
 */
captured: boolean, 
/**
 * The sound server put its echo canceller in front of it.
 */
echo_cancelled: boolean, 
/**
 * The source captured, or why not (for the log, not for a person).
 */
detail: string, };
export type CallSpeaker = { 
/**
 * Played by the app on the desktop's sound server.
 */
playing: boolean, 
/**
 * The output played to is the sound server's echo canceller.
 */
echo_cancelled: boolean, 
/**
 * The output played to, or why not (for the log, not for a person).
 */
detail: string, };
export type MediaEvent = { "type": "signal", 
/**
 * An `sdp` or `ice` signal.
 */
signal: CallSignal, } | { "type": "state", 
/**
 * As `RTCPeerConnection.connectionState`.
 */
state: MediaConnectionState, } | { "type": "keyframe" } | { "type": "stats", 
/**
 * The round trip, when measured.
 */
rtt_ms: number | null, 
/**
 * RTP packets received so far, all kinds.
 */
packets_received: number, 
/**
 * RTP packets lost so far, all kinds.
 */
packets_lost: number, 
/**
 * The bitrate to encode the camera at, from the other side's loss reports on our video
 * (loss-based congestion control); none before the first report and in audio calls.
 */
bitrate_bps: number | null, } | { "type": "microphone-stopped" } | { "type": "speaker-stopped" };
export type CoreEvent = { "event": "online", 
/**
 * This connection's id (a new one after every reconnect).
 */
peer_id: string, 
/**
 * Who we are, as the server says.
 */
user: User, } | { "event": "offline", 
/**
 * Why, in words.
 */
reason: string, } | { "event": "session-ended" } | { "event": "room-joined", 
/**
 * The room.
 */
room: string, 
/**
 * Everyone else in it.
 */
peers: Array<Peer>, } | { "event": "room-left", 
/**
 * The room.
 */
room: string, } | { "event": "peer-joined", 
/**
 * The room.
 */
room: string, 
/**
 * Who.
 */
peer: Peer, } | { "event": "peer-left", 
/**
 * The room.
 */
room: string, 
/**
 * Their connection's id.
 */
peer_id: string, } | { "event": "peer-updated", 
/**
 * The room.
 */
room: string, 
/**
 * Who, with the new profile.
 */
peer: Peer, } | { "event": "connected", 
/**
 * The device's connection id.
 */
peer_id: string, 
/**
 * Whose device.
 */
user_id: string, 
/**
 * How it travels: directly, through NAT, or through a TURN relay (unknown if ICE did
 * not say).
 */
route: Route | null, } | { "event": "identity-changed", 
/**
 * Whose key changed.
 */
user_id: string, 
/**
 * Which of their devices.
 */
device: string, 
/**
 * They were verified: sending waits for acceptance.
 */
verified: boolean, } | { "event": "identity-new-device", 
/**
 * Whose device.
 */
user_id: string, 
/**
 * The new device.
 */
device: string, } | { "event": "identity-mismatch", 
/**
 * The connection id.
 */
peer_id: string, 
/**
 * Whom the server said it was, when known.
 */
user_id: string | null, 
/**
 * Why, in words.
 */
reason: string, } | { "event": "disconnected", 
/**
 * The device's connection id.
 */
peer_id: string, 
/**
 * Whose device, when still known.
 */
user_id: string | null, 
/**
 * Why, in words.
 */
reason: string, } | { "event": "message", 
/**
 * The message as stored.
 */
message: Message, } | { "event": "message-state", 
/**
 * The message.
 */
id: string, 
/**
 * Its conversation.
 */
conversation_id: string, 
/**
 * Its new state.
 */
state: DeliveryState, } | { "event": "message-changed", 
/**
 * The message as it now is.
 */
message: Message, } | { "event": "message-removed", 
/**
 * The message.
 */
id: string, 
/**
 * Its conversation.
 */
conversation_id: string, } | { "event": "transfer-progress", 
/**
 * The file message.
 */
id: string, 
/**
 * Its conversation.
 */
conversation_id: string, 
/**
 * Bytes durably stored on the receiver.
 */
bytes_done: number, 
/**
 * The file's size.
 */
size: number, 
/**
 * Recent speed; 0 when not known yet.
 */
bytes_per_sec: number, 
/**
 * Set when this run resumed an earlier one: where it started.
 */
resumed_from: number | null, } | { "event": "typing", 
/**
 * Who.
 */
user_id: string, 
/**
 * Typing now.
 */
active: boolean, } | { "event": "call", 
/**
 * The call now.
 */
call: CallView, } | { "event": "call-signal", 
/**
 * Which call.
 */
call_id: string, 
/**
 * What to do with its connection.
 */
signal: CallSignal, } | { "event": "signed-out" } | { "event": "error", 
/**
 * Stable, for programs.
 */
code: string, 
/**
 * For people.
 */
message: string, };
export type StoreKind = "os" | "keyutils" | "memory";

// The app (src-tauri).
export type Numbered<T> = { seq: number, } & T;
export type Theme = "system" | "light" | "dark";
export type IceServerSetting = { urls: Array<string>, username?: string | null, 
/**
 * Whether a credential for these URLs is in the keyring (the credential itself never is
 * in the settings).
 */
has_credential: boolean, };
export type Settings = { server: ServerChoice, ice_servers: Array<IceServerSetting>, download_dir: string | null, 
/**
 * Files up to this many MiB from people we chat with are received without asking.
 */
auto_accept_mib: number, theme: Theme, notifications: boolean, 
/**
 * Where the session token and the history's key are kept: the OS keyring, or the Linux
 * kernel keyring (chosen on the start-up screen when there is no OS keyring).
 */
keyring: StoreKind, 
/**
 * "Let others join": this device's server open to the local network (changed through the
 * `set_sharing` command, which opens or closes the port).
 */
let_others_join: boolean, };
export type IceCredential = { index: number, credential: string, };
export type MediaCaps = { rtc_peer_connection: boolean, get_user_media: boolean, web_codecs: boolean, audio_worklet: boolean, };
export type AppInfo = { version: string, debug: boolean, os: string, arch: string, profile_dir: string, };
export type StartupStatus = { 
/**
 * The profile is open: every other command works.
 */
ready: boolean, 
/**
 * Why it is not: `keyring_unavailable` (no keyring to keep secrets in, or it is locked),
 * `history_locked` (the history's key is not in the keyring: the recovery code opens it),
 * or another code of `docs/app-ipc.md`.
 */
code: string | null, 
/**
 * The sentence that says what happened and how to fix it.
 */
message: string | null, 
/**
 * The keyring in use (or tried).
 */
keyring: StoreKind, 
/**
 * What people call it.
 */
keyring_name: string, 
/**
 * The Linux kernel keyring can be used instead (no daemon; forgotten at reboot).
 */
kernel_keyring_available: boolean, };

// Every command the page may call (src-tauri/src/command_list.rs).
export const COMMANDS = ['app_info', 'startup_status', 'retry_startup', 'unlock_history', 'recovery_code', 'recovery_code_saved', 'snapshot', 'restore_session', 'sign_in', 'sign_up', 'sign_out', 'room_directory', 'join_room', 'leave_room', 'contacts', 'open_conversation', 'history_page', 'history_after', 'message_cursor', 'send_message', 'edit_message', 'delete_message', 'react', 'mark_read', 'set_typing', 'search', 'update_profile', 'upload_avatar', 'avatar', 'safety_numbers', 'trust_server', 'allow_plain_http', 'set_sharing', 'sharing', 'discover_servers', 'verify_contact', 'accept_identity', 'get_settings', 'set_settings', 'report_media_caps', 'start_call', 'answer_call', 'decline_call', 'hang_up', 'call_signal', 'call_media_state', 'media_open', 'media_signal', 'media_send', 'media_receive', 'media_microphone', 'media_speaker', 'media_close', 'set_call_media', 'current_call', 'ui_ready', 'open_url', 'set_unread', 'pick_folder', 'pick_files', 'send_files', 'send_pasted_file', 'accept_file', 'decline_file', 'cancel_file', 'resume_file', 'open_file', 'show_file', 'save_file_as', 'picture'] as const;
export type Command = (typeof COMMANDS)[number];

// Bounds the core and the server enforce, counted in characters (Unicode scalar values:
// `[...text].length` in JavaScript, not `text.length`).
export const LIMITS = {
  message: 12000,
  username: 32,
  usernameMin: 3,
  displayName: 64,
  bio: 500,
  status: 100,
  room: 64,
  passwordMin: 8,
  editWindowMs: 86400000,
} as const;
