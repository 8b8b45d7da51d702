/**
 * The app's behaviour and its one way to the backend: only this module calls the commands. It
 * feeds the store (which holds all state, navigation included), decides where navigation goes,
 * and gives the views what they need as methods. No DOM here: what it needs to know of the
 * window comes in through `ControllerOptions`.
 */
import { api as backend, type Api } from './api';
import { errorText, toCoreError } from './model/errors';
import { callPath } from './model/calls';
import { openableUrl } from './model/links';
import { displayName, isSignedIn, totalUnread, unknownUserIds, type Nav, type Panel, type Store } from './model/state';
import type { AppInfo, CallIceServer, CallMicrophone, CallSignal, CallSpeaker, CallView, CoreEvent, DiscoveredServer, ErrorInfo, IceCredential, MediaCaps, Message, SafetyNumber, SearchResult, ServerChoice, Settings, Sharing, Snapshot, StartupStatus, StoreKind, Theme, User } from './types';

/** A value the app numbered (`Numbered<T>`), or one a test made without a number. */
type Stamped<T> = T & { seq?: number };

export type ControllerOptions = {
  /** The commands: the real ones unless a test hands in a fake. */
  api?: Api;
  /** Whether the conversation pane is shown next to the list (wide layout). */
  isWide?: () => boolean;
  /** Whether the window is shown and focused. */
  isFocused?: () => boolean;
};

const PAGE = 50;
const AROUND = 30;
const TYPING_EVERY_MS = 3000;
/** The events whose effect a snapshot covers (connection, who we are, rooms and rosters). */
const SNAPSHOT_EVENTS: ReadonlySet<string> = new Set([
  'online', 'offline', 'session-ended', 'signed-out', 'room-joined', 'room-left', 'peer-joined', 'peer-left', 'peer-updated',
]);
/** Enough to cover the time a command takes; older ones can't overtake anything. */
const RECENT_EVENTS = 200;

export class Controller {
  /** The last snapshot-covered events, for replay over a snapshot that is older than them. */
  private recent: Stamped<CoreEvent>[] = [];
  private caps: MediaCaps | null = null;
  /** Avatar blob: URLs by user and avatar URL, so each picture is fetched once (failures are not kept). */
  private readonly avatars = new Map<string, Promise<string | null>>();
  /** What to do again once the connection is (back) online: avatars that could not be fetched. */
  private readonly onlineWaiters = new Set<() => void>();
  private typingSentAt = 0;
  private typingTo: string | null = null;
  private marking = false;
  private openSeq = 0;
  private safetySeq = 0;
  private contactsRefresh: Promise<void> | null = null;
  /** The unread total the backend was last told (the window's title and badge). */
  private unreadShown = 0;
  /** Who hears the `call-signal` events (the call engine): not state, so not in the store. */
  private readonly callSignalListeners = new Set<(callId: string, signal: unknown) => void>();
  private readonly api: Api;
  private readonly isWide: () => boolean;
  private readonly isFocused: () => boolean;

  constructor(
    readonly store: Store,
    options: ControllerOptions = {},
  ) {
    this.api = options.api ?? backend;
    this.isWide = options.isWide ?? (() => true);
    this.isFocused = options.isFocused ?? (() => true);
    // The window's title and badge follow the unread total, whatever changed it.
    store.subscribe((state, prev) => {
      this.syncUnread(totalUnread(state));
      if (state.connection === 'online' && prev.connection !== 'online') this.wentOnline();
    });
  }

  private wentOnline(): void {
    const waiting = [...this.onlineWaiters];
    this.onlineWaiters.clear();
    for (const retry of waiting) retry();
  }

  /**
   * Runs `retry` once, the next time the connection becomes online: for what could not be had
   * before the session was up (an avatar asked for at start-up).
   */
  whenOnline(retry: () => void): void {
    this.onlineWaiters.add(retry);
  }

  private syncUnread(total: number): void {
    if (total === this.unreadShown) return;
    this.unreadShown = total;
    void this.api.setUnread(total).catch(() => undefined);
  }

  /** What the webview supports, as reported at start-up (null before). */
  get mediaCaps(): MediaCaps | null {
    return this.caps;
  }

  /** What the main screen shows (kept in the store). */
  get nav(): Nav {
    return this.store.get().nav;
  }

  setNav(change: Partial<Nav>): void {
    const before = this.store.get();
    this.store.dispatch({ type: 'nav', change });
    if (this.store.get() !== before) this.markReadIfViewing();
  }

  showPanel(panel: Panel): void {
    this.setNav({ panel, pane: panel === 'chats' ? (this.store.get().open !== null ? this.nav.pane : 'list') : 'detail' });
  }

  /** Escape / the back button: closes a panel, or on narrow screens goes back to the list. */
  back(): boolean {
    if (this.nav.panel !== 'chats') {
      this.setNav({ panel: 'chats', pane: this.isWide() && this.store.get().open !== null ? 'detail' : 'list' });
      return true;
    }
    if (this.nav.pane === 'detail' && !this.isWide()) {
      this.setNav({ pane: 'list' });
      return true;
    }
    return false;
  }

  /** The conversation the user is looking at now, if any (for unread counts and read receipts). */
  viewing(): string | null {
    const open = this.store.get().open;
    if (open === null || this.nav.panel !== 'chats') return null;
    if (!this.isWide() && this.nav.pane !== 'detail') return null;
    return this.isFocused() ? open.userId : null;
  }

  // --- start-up --------------------------------------------------------------------------

  /**
   * Feeds every core event to `handleEvent`, and opens the conversation of a clicked desktop
   * notification; resolves once listening (before anything else).
   */
  async listen(): Promise<() => void> {
    const events = await this.api.onCoreEvent((event) => this.handleEvent(event));
    const clicks = await this.api.onOpenConversation((conversationId) => this.openFromNotification(conversationId));
    return () => {
      events();
      clicks();
    };
  }

  /** A desktop notification was clicked (the window is already in front): its conversation shows. */
  openFromNotification(conversationId: string): void {
    const state = this.store.get();
    if (!isSignedIn(state) || conversationId === '') return;
    if (state.open?.userId === conversationId) this.setNav({ panel: 'chats', pane: 'detail' });
    else void this.openConversation(conversationId);
  }

  /** Keeps what the webview supports (shown in Settings) and tells the backend. */
  reportMediaCaps(caps: MediaCaps): void {
    this.caps = caps;
    void this.api.reportMediaCaps(caps).catch(() => undefined);
  }

  /** The first screen is drawn (`firstContentfulPaint`: the page's first paint, Unix ms). */
  uiReady(firstContentfulPaint: number | null): void {
    void this.api.uiReady(firstContentfulPaint).catch(() => undefined);
  }

  /**
   * The theme setting into the store ("system" when the settings can't be read). Works before
   * the profile is open; resolves once the theme is in the store.
   */
  loadTheme(): Promise<void> {
    return this.api.getSettings().then(
      (s) => this.store.dispatch({ type: 'theme', theme: s.theme }),
      () => this.store.dispatch({ type: 'theme', theme: 'system' }),
    );
  }

  /** Whether the profile is open; if not, why (the start-up screen says it and offers a way on). */
  startupStatus(): Promise<StartupStatus> {
    return this.api.startupStatus();
  }

  /** "Try again" on the start-up screen; with `keyring`, using (and remembering) that keyring. */
  retryStartup(keyring?: StoreKind): Promise<StartupStatus> {
    return this.api.retryStartup(keyring);
  }

  /** Opens a locked history with its recovery code; rejects when the code does not open it. */
  unlockHistory(recoveryCode: string): Promise<StartupStatus> {
    return this.api.unlockHistory(recoveryCode.trim());
  }

  appInfo(): Promise<AppInfo> {
    return this.api.appInfo();
  }

  // --- session ---------------------------------------------------------------------------

  async restore(): Promise<ErrorInfo | null> {
    try {
      const snapshot = await this.api.restoreSession();
      this.applySnapshot(snapshot);
      return null;
    } catch (e) {
      const error = toCoreError(e);
      try {
        this.applySnapshot(await this.api.snapshot());
      } catch {
        /* keep the signed-out state */
      }
      return error;
    }
  }

  /**
   * Offline first: a profile still signed in shows its main screen (contacts, history, search)
   * from local state at once, while `restore` resumes the session. False when there is none.
   */
  async showLocal(): Promise<boolean> {
    try {
      const snapshot = await this.api.snapshot();
      if (!isSignedIn(snapshot)) return false;
      this.applySnapshot(snapshot);
      return true;
    } catch {
      return false;
    }
  }

  async signIn(server: ServerChoice, login: string, password: string): Promise<void> {
    this.applySnapshot(await this.api.signIn(server, login, password));
  }

  async signUp(server: ServerChoice, username: string, email: string, password: string, displayName?: string): Promise<void> {
    this.applySnapshot(await this.api.signUp(server, username, email, password, displayName));
  }

  /**
   * The person compared the certificate's fingerprint of the server at `url` (as signed in to)
   * with the one its owner shows: only that certificate is accepted for it from now on.
   */
  async trustServer(url: string, fingerprint: string): Promise<void> {
    await this.api.trustServer(url, fingerprint);
  }

  /** The person agreed to sign in to `url`, another computer, over plain http. */
  async allowPlainHttp(url: string): Promise<void> {
    await this.api.allowPlainHttp(url);
  }

  /**
   * The Parley servers that let others join on this network (listens about 2 s). What they say
   * of themselves is unchecked: the fingerprint is compared by the person before the invite is used.
   */
  discoverServers(): Promise<DiscoveredServer[]> {
    return this.api.discoverServers();
  }

  /** Signs out; `keepHistory: false` also deletes this profile's history on this device. */
  async signOut(keepHistory: boolean): Promise<void> {
    this.applySnapshot(await this.api.signOut(keepHistory));
    // The next sign-in starts on the contact list (a session that ended elsewhere keeps its place).
    this.store.dispatch({ type: 'nav', change: { panel: 'chats', pane: 'list' } });
  }

  /** The history's recovery code, to show (the reminder card, Settings). */
  recoveryCode(): Promise<string> {
    return this.api.recoveryCode();
  }

  /** The person saved the recovery code: the reminder goes away (the snapshot says so). */
  async recoveryCodeSaved(): Promise<void> {
    this.applySnapshot(await this.api.recoveryCodeSaved(), false);
  }

  /** `refresh`: fetch contacts and rooms again when signed in (not needed for a flag). */
  private applySnapshot(snapshot: Stamped<Snapshot>, refresh = true): void {
    this.store.dispatch({ type: 'snapshot', snapshot });
    // Events can overtake the command that returns a snapshot (they travel separately): replay
    // those the snapshot does not include yet, so that e.g. an early "online" is not undone.
    if (snapshot.seq !== undefined) {
      const since = snapshot.seq;
      for (const event of this.recent) {
        if (event.seq !== undefined && event.seq > since) {
          this.store.dispatch({ type: 'event', event, now: Date.now(), viewing: this.viewing() });
        }
      }
    }
    if (refresh && isSignedIn(snapshot)) void this.refreshAll();
  }

  async refreshAll(): Promise<void> {
    await Promise.all([this.refreshContacts(), this.refreshDirectory()]);
  }

  refreshContacts(): Promise<void> {
    this.contactsRefresh ??= this.api
      .contacts()
      .then((contacts) => this.store.dispatch({ type: 'contacts', contacts }))
      .catch((e: unknown) => this.report(e))
      .finally(() => {
        this.contactsRefresh = null;
      });
    return this.contactsRefresh;
  }

  async refreshDirectory(): Promise<void> {
    if (this.store.get().connection !== 'online') return;
    try {
      this.store.dispatch({ type: 'directory', rooms: await this.api.roomDirectory() });
    } catch (e) {
      this.report(e);
    }
  }

  // --- events ----------------------------------------------------------------------------

  handleEvent(event: Stamped<CoreEvent>, now = Date.now()): void {
    if (SNAPSHOT_EVENTS.has(event.event)) {
      this.recent.push(event);
      if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    }
    const before = this.store.get();
    this.store.dispatch({ type: 'event', event, now, viewing: this.viewing() });
    const after = this.store.get();
    switch (event.event) {
      case 'online':
        void this.refreshAll();
        break;
      case 'room-joined':
      case 'room-left':
        void this.refreshDirectory();
        break;
      case 'identity-changed':
      case 'identity-new-device':
        // The header's button and the composer's notice follow the contact's keys.
        if (after.open?.userId === event.user_id) this.loadSafety(event.user_id);
        break;
      case 'message-removed':
        // The contact's last message and unread count may have been the one removed.
        void this.refreshContacts();
        break;
      case 'call':
        // Someone the contact list doesn't know yet rings: their name and picture are needed.
        if (!after.contacts.some((c) => c.user.id === event.call.user_id)) void this.refreshContacts();
        break;
      case 'call-signal':
        // As it came: the listener checks it (a peer chose what is in it).
        for (const listener of [...this.callSignalListeners]) {
          try {
            listener(event.call_id, event.signal);
          } catch {
            /* one listener's failure does not stop the events */
          }
        }
        break;
      case 'message': {
        const conv = event.message.conversation_id;
        if (!after.contacts.some((c) => c.user.id === conv)) void this.refreshContacts();
        if (event.message.direction === 'incoming' && after.open?.userId === conv) this.markReadIfViewing();
        break;
      }
      default:
        break;
    }
    if (unknownUserIds(after).length > 0 && after.rooms !== before.rooms) void this.refreshContacts();
  }

  // --- calls -----------------------------------------------------------------------------

  /**
   * Whether this window can place and take calls: its webview has a camera/microphone API, and
   * WebRTC or what the media bridge needs instead (`callPath`).
   */
  get callsSupported(): boolean {
    return callPath(this.caps) !== null;
  }

  /** Calls `listener` with every `call-signal` event's call id and (unchecked) signal; returns the way to stop. */
  onCallSignal(listener: (callId: string, signal: unknown) => void): () => void {
    this.callSignalListeners.add(listener);
    return () => this.callSignalListeners.delete(listener);
  }

  /** Calls `userId` (video, or sound only); the store has the call at once, its events follow. */
  async startCall(userId: string, video: boolean): Promise<CallView> {
    const call = await this.api.startCall(userId, video);
    this.store.dispatch({ type: 'call', call });
    return call;
  }

  async answerCall(callId: string): Promise<void> {
    await this.api.answerCall(callId);
  }

  async declineCall(callId: string): Promise<void> {
    await this.api.declineCall(callId);
  }

  /** Cancels, declines or hangs up, as fits where the call is. */
  async hangUp(callId: string): Promise<void> {
    await this.api.hangUp(callId);
  }

  /** Our description or ICE candidate for the other side of the call. */
  async sendCallSignal(callId: string, signal: CallSignal): Promise<void> {
    await this.api.callSignal(callId, signal);
  }

  /** The media connection is up (`failure` null: the call becomes active) or failed (why, in words). */
  async callMediaState(callId: string, failure: string | null): Promise<void> {
    await this.api.callMediaState(callId, failure);
  }

  /** What we send now (microphone, camera): the other side's screen says so. */
  async setCallMedia(callId: string, audio: boolean, video: boolean): Promise<void> {
    await this.api.setCallMedia(callId, audio, video);
  }

  // The media bridge (docs/call-media-bridge.md): a call's media in a webview without WebRTC.

  /** Makes the call's media connection in Rust; as the offerer, its offer follows as an event. */
  async mediaOpen(callId: string, offerer: boolean, video: boolean, iceServers: CallIceServer[]): Promise<void> {
    await this.api.mediaOpen(callId, offerer, video, iceServers);
  }

  /** The other side's description or candidate, for the Rust connection. */
  async mediaSignal(callId: string, signal: CallSignal): Promise<void> {
    await this.api.mediaSignal(callId, signal);
  }

  /** Encoded frames (the bridge's records), for Rust to send. */
  async mediaSend(callId: string, records: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.api.mediaSend(callId, records);
  }

  /** What arrived (records), waiting up to a second for it: empty when nothing came. */
  mediaReceive(callId: string): Promise<Uint8Array> {
    return this.api.mediaReceive(callId);
  }

  /** Asks the app to capture the call's microphone itself (docs/call-media-bridge.md). */
  async mediaMicrophone(callId: string, label: string, on: boolean): Promise<CallMicrophone> {
    return this.api.mediaMicrophone(callId, label, on);
  }

  /** Asks the app to play the call's sound itself (docs/call-media-bridge.md). */
  async mediaSpeaker(callId: string): Promise<CallSpeaker> {
    return this.api.mediaSpeaker(callId);
  }

  async mediaClose(callId: string): Promise<void> {
    await this.api.mediaClose(callId);
  }

  /** The call going on or ringing when the page (re)starts, into the store; null when there is none. */
  async loadCurrentCall(): Promise<CallView | null> {
    try {
      const call = await this.api.currentCall();
      if (call !== null) this.store.dispatch({ type: 'call', call });
      return call;
    } catch {
      return null;
    }
  }

  /** The person closed how the call ended. */
  dismissCall(callId: string): void {
    this.store.dispatch({ type: 'call-dismiss', id: callId });
  }

  // --- rooms -----------------------------------------------------------------------------

  async joinRoom(room: string): Promise<void> {
    const joined = await this.api.joinRoom(room);
    this.store.dispatch({ type: 'room-joined', room: joined });
    void this.refreshDirectory();
    if (unknownUserIds(this.store.get()).length > 0) void this.refreshContacts();
  }

  async leaveRoom(room: string): Promise<void> {
    await this.api.leaveRoom(room);
    this.store.dispatch({ type: 'room-left', room });
    void this.refreshDirectory();
  }

  // --- conversations ---------------------------------------------------------------------

  /** Opens the conversation with a user at its newest messages. */
  async openConversation(userId: string, title?: string): Promise<void> {
    const seq = ++this.openSeq;
    this.startOpen(userId, title);
    try {
      await this.api.openConversation(userId);
      if (seq !== this.openSeq) return;
      const page = await this.api.historyPage(userId, undefined, PAGE);
      if (seq !== this.openSeq) return;
      this.store.dispatch({ type: 'latest', userId, page });
      this.markReadIfViewing();
    } catch (e) {
      if (seq === this.openSeq) this.store.dispatch({ type: 'loading', userId, loading: 'none' });
      this.report(e);
    }
  }

  private startOpen(userId: string, title?: string): void {
    const contact = this.store.get().contacts.find((c) => c.user.id === userId);
    const name = title ?? (contact !== undefined ? displayName(contact.user) : userId);
    if (this.typingTo !== null && this.typingTo !== userId) this.stopTyping();
    this.store.dispatch({ type: 'open', userId, title: name });
    this.setNav({ panel: 'chats', pane: 'detail' });
    this.loadSafety(userId);
  }

  /**
   * Shows a message of the open conversation, highlighted (a reply's quote was followed): at once
   * when it is loaded, else with the pages around it (as for a search hit). Rejects when it is
   * not on this device (`unknown_message`).
   */
  async showMessage(messageId: string): Promise<void> {
    const open = this.store.get().open;
    if (open === null) return;
    const { userId } = open;
    if (open.messages.some((m) => m.id === messageId)) {
      // Again when it already was: the view centres on a highlight that changes.
      this.store.dispatch({ type: 'highlight', userId, id: null });
      this.store.dispatch({ type: 'highlight', userId, id: messageId });
      return;
    }
    const seq = ++this.openSeq;
    // The cursors are the core's: the page before the message after it holds the message itself.
    const cursor = await this.api.messageCursor(messageId);
    const after = await this.api.historyAfter(userId, cursor, AROUND);
    const next = after.messages[0];
    const before = await this.api.historyPage(userId, next === undefined ? undefined : await this.api.messageCursor(next.id), AROUND + 1);
    if (seq !== this.openSeq) return;
    const hit = before.messages.find((m) => m.id === messageId);
    if (hit === undefined) throw { code: 'unknown_message', message: '' };
    const older = { messages: before.messages.filter((m) => m.id !== messageId), next: before.next };
    this.store.dispatch({ type: 'around', userId, hit, before: older, after });
    this.markReadIfViewing();
  }

  /** Opens a search hit's conversation around the hit, which gets highlighted. */
  async jumpTo(hit: SearchResult): Promise<void> {
    const userId = hit.message.conversation_id;
    const seq = ++this.openSeq;
    this.startOpen(userId, hit.conversation_title || undefined);
    try {
      void this.api.openConversation(userId).catch(() => undefined);
      const cursor = await this.api.messageCursor(hit.message.id);
      const [before, after] = await Promise.all([
        this.api.historyPage(userId, cursor, AROUND),
        this.api.historyAfter(userId, cursor, AROUND),
      ]);
      if (seq !== this.openSeq) return;
      this.store.dispatch({ type: 'around', userId, hit: hit.message, before, after });
      this.markReadIfViewing();
    } catch (e) {
      if (seq === this.openSeq) this.store.dispatch({ type: 'loading', userId, loading: 'none' });
      this.report(e);
    }
  }

  async loadOlder(): Promise<void> {
    await this.loadMore('older');
  }

  async loadNewer(): Promise<void> {
    await this.loadMore('newer');
  }

  /** The next page on one side of what is shown: older on scroll-up, newer after a jump. */
  private async loadMore(side: 'older' | 'newer'): Promise<void> {
    const open = this.store.get().open;
    if (open === null || open.loading !== 'none') return;
    const cursor = open[side];
    if (cursor === null) return;
    const { userId } = open;
    this.store.dispatch({ type: 'loading', userId, loading: side });
    try {
      const page =
        side === 'older'
          ? await this.api.historyPage(userId, cursor, PAGE)
          : await this.api.historyAfter(userId, cursor, PAGE);
      this.store.dispatch({ type: side, userId, page });
    } catch (e) {
      this.store.dispatch({ type: 'loading', userId, loading: 'none' });
      this.report(e);
    }
  }

  /** Back to the newest messages (after a jump into the past). */
  async jumpToLatest(): Promise<void> {
    const open = this.store.get().open;
    if (open === null) return;
    const page = await this.api.historyPage(open.userId, undefined, PAGE);
    this.store.dispatch({ type: 'latest', userId: open.userId, page });
  }

  /** Sends `body` to the open conversation; `replyTo`: the message of it that this one answers. */
  async send(body: string, replyTo?: string): Promise<void> {
    const open = this.store.get().open;
    if (open === null) return;
    this.stopTyping();
    const message = await this.api.sendMessage(open.userId, body, replyTo);
    if (this.store.get().open?.newer != null) await this.jumpToLatest();
    this.store.dispatch({ type: 'sent', message });
  }

  /** Edits one of our messages (within the edit window); the store gets it as it now is. */
  async editMessage(message: Message, body: string): Promise<void> {
    const changed = await this.api.editMessage(message.conversation_id, message.id, body);
    this.store.dispatch({ type: 'changed', message: changed });
  }

  /**
   * Deletes a message for everyone (ours, within the window: a placeholder on both sides) or on
   * this device only (gone from view). The core's event says the same; the store has it at once.
   */
  async deleteMessage(message: Message, forEveryone: boolean): Promise<void> {
    await this.api.deleteMessage(message.conversation_id, message.id, forEveryone);
    if (forEveryone) {
      this.store.dispatch({ type: 'changed', message: { ...message, deleted: true, body: '', reactions: [] } });
    } else {
      this.store.dispatch({ type: 'removed', conversationId: message.conversation_id, id: message.id });
      void this.refreshContacts();
    }
  }

  /** Our reaction to a message (null takes it back); the store gets the message as it now is. */
  async react(message: Message, emoji: string | null): Promise<void> {
    const changed = await this.api.react(message.conversation_id, message.id, emoji);
    this.store.dispatch({ type: 'changed', message: changed });
  }

  // --- files ---------------------------------------------------------------------------

  /** Our new messages in the store, shown at the newest end (after a jump, the newest page first). */
  private async showSent(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.store.get().open?.newer != null) await this.jumpToLatest();
    for (const message of messages) this.store.dispatch({ type: 'sent', message });
  }

  /**
   * *Attach files*: the system's file picker, then the files chosen to the open conversation, one
   * message each. Resolves to how many were sent (0: cancelled, or no conversation open).
   */
  async attachFiles(): Promise<number> {
    const open = this.store.get().open;
    if (open === null) return 0;
    const paths = await this.api.pickFiles();
    if (paths.length === 0) return 0;
    return this.sendFilePaths(paths, open.userId);
  }

  /** Files from disk (dropped onto the window) to the open conversation, or to `userId`. */
  async sendFilePaths(paths: readonly string[], userId = this.store.get().open?.userId): Promise<number> {
    if (userId === undefined || paths.length === 0) return 0;
    const sent = await this.api.sendFiles(userId, [...paths]);
    if (this.store.get().open?.userId === userId) await this.showSent(sent);
    return sent.length;
  }

  /** A file the page holds (a pasted image, a dropped file without a path) to the open conversation. */
  async sendFileBytes(name: string, bytes: Uint8Array): Promise<void> {
    const open = this.store.get().open;
    if (open === null) return;
    const message = await this.api.sendPastedFile(open.userId, name, bytes);
    if (this.store.get().open?.userId === open.userId) await this.showSent([message]);
  }

  /** Accepts, declines, cancels or resumes a transfer; the store gets the message as it now is. */
  async fileDecision(message: Message, decision: 'accept' | 'decline' | 'cancel' | 'resume'): Promise<void> {
    const run = {
      accept: this.api.acceptFile,
      decline: this.api.declineFile,
      cancel: this.api.cancelFile,
      resume: this.api.resumeFile,
    }[decision];
    const changed = await run(message.conversation_id, message.id);
    this.store.dispatch({ type: 'changed', message: changed });
  }

  /** Opens a file message's file with the system's program for it. */
  async openFile(message: Message): Promise<void> {
    await this.api.openFile(message.id);
  }

  /** Shows a file message's file in the system's file manager. */
  async showFile(message: Message): Promise<void> {
    await this.api.showFile(message.id);
  }

  /** *Save as…*: the path the copy went to, or null when the person cancelled. */
  saveFileAs(message: Message): Promise<string | null> {
    return this.api.saveFileAs(message.id);
  }

  /**
   * The full picture of an image file as a `blob:` URL (the CSP allows no file URLs); the caller
   * revokes it (`URL.revokeObjectURL`) when it is no longer shown.
   */
  async picture(message: Message): Promise<string> {
    const bytes = await this.api.picture(message.id);
    if (bytes.byteLength === 0) throw { code: 'picture_unavailable', message: '' };
    return URL.createObjectURL(new Blob([bytes]));
  }

  /** The composer changed: `set_typing(true)` at most every 3 s, `false` when it empties. */
  typing(text: string, now = Date.now()): void {
    const open = this.store.get().open;
    if (open === null || this.store.get().connection !== 'online') return;
    if (text.trim() === '') {
      this.stopTyping();
      return;
    }
    if (this.typingTo === open.userId && now - this.typingSentAt < TYPING_EVERY_MS) return;
    this.typingTo = open.userId;
    this.typingSentAt = now;
    void this.api.setTyping(open.userId, true).catch(() => undefined);
  }

  stopTyping(): void {
    if (this.typingTo === null) return;
    const to = this.typingTo;
    this.typingTo = null;
    this.typingSentAt = 0;
    void this.api.setTyping(to, false).catch(() => undefined);
  }

  /** Sends read receipts for the open conversation when the user is looking at it. */
  markReadIfViewing(): void {
    const conv = this.viewing();
    if (conv === null || this.marking) return;
    const state = this.store.get();
    const contact = state.contacts.find((c) => c.user.id === conv);
    const unreadShown = state.open?.messages.some((m) => m.direction === 'incoming' && m.state !== 'read') ?? false;
    if ((contact?.unread ?? 0) === 0 && !unreadShown) return;
    this.marking = true;
    this.api
      .markRead(conv)
      .then(() => this.store.dispatch({ type: 'read', conversationId: conv }))
      .catch((e: unknown) => this.report(e))
      .finally(() => {
        this.marking = false;
      });
  }

  // --- safety numbers ------------------------------------------------------------------

  /**
   * (Re)loads the safety numbers of `userId` into the open conversation, where the header's
   * button, the composer's notice and the safety panel read them; resolves to them. Only the
   * latest load lands (an older answer can't overwrite a newer one).
   */
  async refreshSafety(userId: string): Promise<SafetyNumber[]> {
    const seq = ++this.safetySeq;
    const numbers = await this.api.safetyNumbers(userId);
    if (seq === this.safetySeq) this.store.dispatch({ type: 'safety', userId, numbers });
    return numbers;
  }

  /** In the background (a conversation opens, a key event): a failure leaves things as they were. */
  private loadSafety(userId: string): void {
    this.refreshSafety(userId).catch(() => undefined);
  }

  /** The person compared the numbers and they match: marks the devices met verified, then reloads. */
  async verifyContact(userId: string): Promise<number> {
    const devices = await this.api.verifyContact(userId);
    await this.refreshSafety(userId);
    return devices;
  }

  /** Accepts a verified contact's changed key (held messages go out), then reloads. */
  async acceptIdentity(userId: string): Promise<number> {
    const devices = await this.api.acceptIdentity(userId);
    await this.refreshSafety(userId);
    return devices;
  }

  // --- search, profile, settings ---------------------------------------------------------

  /** Hits for `query`, newest first; with `after`, the next page: those older than that hit. */
  async search(query: string, after?: SearchResult, limit?: number): Promise<SearchResult[]> {
    const before = after !== undefined ? await this.api.messageCursor(after.message.id) : undefined;
    return this.api.search(query, before, limit);
  }

  /** Saves the profile's fields, then the new avatar if there is one; the store gets the result. */
  async updateProfile(fields: { displayName?: string; bio?: string; status?: string }, avatar?: Uint8Array): Promise<User> {
    let user = await this.api.updateProfile(fields);
    if (avatar !== undefined) user = await this.api.uploadAvatar(avatar);
    this.store.dispatch({ type: 'me', user });
    return user;
  }

  /** A blob: URL of the user's avatar (the CSP allows no other), or null when there is none. */
  avatar(user: User): Promise<string | null> {
    if (user.avatar_url === null) return Promise.resolve(null);
    const key = `${user.id}|${user.avatar_url}`;
    let url = this.avatars.get(key);
    if (url === undefined) {
      const fetching = this.api
        .avatar(user.id)
        .then((bytes) => (bytes.byteLength === 0 ? null : URL.createObjectURL(new Blob([bytes]))))
        .catch(() => null);
      this.avatars.set(key, fetching);
      // Only a picture is kept. A failure or an empty answer (before the session is up, say) is
      // asked again the next time: never remembered as "no avatar".
      void fetching.then((got) => {
        if (got === null && this.avatars.get(key) === fetching) this.avatars.delete(key);
      });
      url = fetching;
    }
    return url;
  }

  /** The system's folder picker, opening at `current`: the folder chosen, or null when cancelled. */
  pickFolder(current: string): Promise<string | null> {
    const at = current.trim();
    return this.api.pickFolder(at === '' ? undefined : at);
  }

  settings(): Promise<Settings> {
    return this.api.getSettings();
  }

  /** Whether this device's server is open to others now (null: it is not), with its invites. */
  sharing(): Promise<Sharing | null> {
    return this.api.sharing();
  }

  /** "Let others join" on or off: what others need to join, or null once closed. Saves the setting itself. */
  setSharing(on: boolean): Promise<Sharing | null> {
    return this.api.setSharing(on);
  }

  /** Validated by the backend, which answers with what it saved. */
  async saveSettings(settings: Settings, iceCredentials?: IceCredential[]): Promise<Settings> {
    const saved = await this.api.setSettings(settings, iceCredentials);
    this.store.dispatch({ type: 'theme', theme: saved.theme });
    return saved;
  }

  closeConversation(): void {
    this.stopTyping();
    this.store.dispatch({ type: 'close' });
    this.setNav({ pane: 'list' });
  }

  /** Shows `theme` before it is saved (Settings); null goes back to the saved one. */
  previewTheme(theme: Theme | null): void {
    this.store.dispatch({ type: 'theme-preview', theme });
  }

  /**
   * Opens a link of a message in the system's browser or mail app; the webview itself never
   * navigates. Anything but http(s) and mailto is refused here already.
   */
  async openUrl(url: string): Promise<void> {
    const safe = openableUrl(url);
    if (safe === null) return;
    try {
      await this.api.openUrl(safe);
    } catch (e) {
      this.report(e);
    }
  }

  dismissError(): void {
    this.store.dispatch({ type: 'dismiss-error' });
  }

  /** Shows a background failure in the notice area. */
  report(e: unknown): void {
    const error = toCoreError(e);
    this.store.dispatch({ type: 'event', now: Date.now(), event: { event: 'error', code: error.code, message: errorText(error) } });
  }
}
