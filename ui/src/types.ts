/** The types of docs/app-ipc.md, as the Rust side serializes them (snake_case fields). */

export type User = {
  id: string;
  username: string;
  display_name: string;
  bio: string;
  status: string;
  avatar_url: string | null;
  created_at: number;
  email?: string;
};
export type Peer = { peer_id: string; user: User };
export type DeliveryState = 'pending' | 'sent' | 'delivered' | 'received' | 'read';
export type Message = {
  id: string;
  conversation_id: string;
  direction: 'outgoing' | 'incoming';
  sender_id: string;
  body: string;
  sent_at: number;
  received_at: number | null;
  state: DeliveryState;
  seq: number;
};
/** A conversation is with one user: `id` is that user's id. */
export type Conversation = {
  id: string;
  title: string;
  last_message: Message | null;
  unread: number;
  updated_at: number;
};
/** `messages` newest first for `history_page`, oldest first for `history_after`. */
export type Page = { messages: Message[]; next: string | null };
/** `snippet` has the matched terms between U+0002 and U+0003. */
export type SearchHit = { message: Message; snippet: string; conversation_title: string };
export type ServerChoice = { kind: 'embedded' } | { kind: 'url'; url: string };
export type Connection = 'signed-out' | 'connecting' | 'online' | 'offline';
export type Contact = { user: User; online: boolean; conversation: Conversation | null };
export type RoomState = { room: string; peers: Peer[] };
export type DirectoryRoom = { name: string; online: number };
export type CoreError = { code: string; message: string };
export type Snapshot = {
  /** The number of the last core event this snapshot reflects (events carry theirs). */
  seq?: number;
  connection: Connection;
  me: User | null;
  username: string | null;
  server: ServerChoice;
  server_url: string | null;
  rooms: RoomState[];
  error: CoreError | null;
};
export type IceServerSetting = { urls: string[]; username?: string; has_credential: boolean };
export type Theme = 'system' | 'light' | 'dark';
export type Settings = {
  server: ServerChoice;
  ice_servers: IceServerSetting[];
  download_dir: string | null;
  theme: Theme;
  notifications: boolean;
};
export type IceCredential = { index: number; credential: string };
export type MediaCaps = {
  rtc_peer_connection: boolean;
  get_user_media: boolean;
  web_codecs: boolean;
  audio_worklet: boolean;
};
export type AppInfo = { version: string; debug: boolean; os: string; arch: string; profile_dir: string };

/** The payload of the `core-event` event, tagged by `event`. */
/** A core event as the page receives it: numbered, in the order they happened. */
export type NumberedEvent = CoreEvent & { seq?: number };
export type CoreEvent =
  | { event: 'online'; peer_id: string; user: User }
  | { event: 'offline'; reason: string }
  | { event: 'session-ended' }
  | { event: 'room-joined'; room: string; peers: Peer[] }
  | { event: 'room-left'; room: string }
  | { event: 'peer-joined'; room: string; peer: Peer }
  | { event: 'peer-left'; room: string; peer_id: string }
  | { event: 'peer-updated'; room: string; peer: Peer }
  | { event: 'connected'; peer_id: string; user_id: string }
  | { event: 'disconnected'; peer_id: string; user_id: string; reason: string }
  | { event: 'message'; message: Message }
  | { event: 'message-state'; id: string; conversation_id: string; state: DeliveryState }
  | { event: 'typing'; user_id: string; active: boolean }
  | { event: 'error'; code: string; message: string }
  | { event: 'signed-out' };
