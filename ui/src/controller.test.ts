import { describe, expect, it, vi } from 'vitest';
import type { Api } from './api';
import { Controller } from './controller';
import { createStore } from './model/state';
import { msg, safetyNumber, settings as settingsOf, snapshot, user } from './model/test-fixtures';
import type { Message, Settings, Snapshot } from './types';

const online: Snapshot = snapshot();

function fakeApi(overrides: Partial<Record<keyof Api, unknown>> = {}) {
  const calls: [string, unknown[]][] = [];
  const base: Record<string, (...a: unknown[]) => unknown> = {
    contacts: () => [{ user: user('bob'), online: true, conversation: { id: 'bob', title: 'Bob', last_message: null, unread: 2, updated_at: 1 } }],
    roomDirectory: () => [],
    openConversation: () => ({ id: 'bob', title: 'Bob', last_message: null, unread: 2, updated_at: 1 }),
    historyPage: () => ({ messages: [msg('m2', 2), msg('m1', 1)], next: 'c1' }),
    historyAfter: () => ({ messages: [], next: null }),
    markRead: () => 2,
    safetyNumbers: () => [],
    setTyping: () => undefined,
    setUnread: () => null,
    openUrl: () => null,
    sendMessage: (_u: unknown, body: unknown) => msg('o1', 3, { direction: 'outgoing', body: String(body), state: 'pending' }),
    ...(overrides as Record<string, (...a: unknown[]) => unknown>),
  };
  const api = new Proxy({} as Api, {
    get: (_t, name: string) => async (...args: unknown[]) => {
      calls.push([name, args]);
      const f = base[name];
      if (f === undefined) throw new Error(`unexpected ${name}`);
      return f(...args);
    },
  });
  return { api, calls, of: (name: string) => calls.filter(([n]) => n === name).map(([, a]) => a) };
}

async function setup(wide = true, focused = true, overrides: Partial<Record<keyof Api, unknown>> = {}) {
  const fake = fakeApi(overrides);
  const store = createStore();
  const ctl = new Controller(store, { api: fake.api, isWide: () => wide, isFocused: () => focused });
  store.dispatch({ type: 'snapshot', snapshot: online });
  await ctl.refreshContacts();
  return { ctl, store, fake };
}

describe('Controller', () => {
  it('replays events that overtook the snapshot of the command that caused them', async () => {
    // Restoring goes online; the "online" event (seq 5) reaches the page before the command's
    // snapshot, which was taken before it (seq 4) and still says "connecting".
    const fake = fakeApi({ restoreSession: () => ({ ...online, connection: 'connecting', seq: 4 }) });
    const store = createStore();
    const ctl = new Controller(store, { api: fake.api, isWide: () => true, isFocused: () => true });
    ctl.handleEvent({ event: 'online', peer_id: 'p1', user: user('alice'), seq: 5 });
    await ctl.restore();
    expect(store.get().connection).toBe('online');

    // An event the snapshot already includes is not replayed over it.
    const later = fakeApi({ restoreSession: () => ({ ...online, connection: 'offline', seq: 9 }) });
    const store2 = createStore();
    const ctl2 = new Controller(store2, { api: later.api, isWide: () => true, isFocused: () => true });
    ctl2.handleEvent({ event: 'online', peer_id: 'p1', user: user('alice'), seq: 8 });
    await ctl2.restore();
    expect(store2.get().connection).toBe('offline');
  });

  it('keeps how a contact is connected from the contact list and the channel events; passes discovery through', async () => {
    const found = [{ name: 'Parley on kim-laptop', address: '192.168.1.20:7891', fingerprint: '3F2A 91BC', invite: 'parley://join?server=x&fp=y' }];
    const { ctl, store, fake } = await setup(true, true, {
      contacts: () => [{ user: user('bob'), online: true, route: 'relayed', conversation: null }],
      discoverServers: () => found,
    });
    const bob = () => store.get().contacts.find((c) => c.user.id === 'bob');
    expect(bob()?.route).toBe('relayed');
    ctl.handleEvent({ event: 'disconnected', peer_id: 'p-laptop', user_id: 'bob', reason: 'closed' });
    expect(bob()?.route).toBeNull();
    ctl.handleEvent({ event: 'connected', peer_id: 'p-laptop', user_id: 'bob', route: 'direct' });
    expect(bob()?.route).toBe('direct');
    expect(await ctl.discoverServers()).toEqual(found);
    expect(fake.of('discoverServers')).toEqual([[]]);
  });

  it('opens a conversation at its newest page and marks it read when looked at', async () => {
    const { ctl, store, fake } = await setup();
    await ctl.openConversation('bob');
    expect(store.get().open?.messages.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(ctl.nav).toEqual({ panel: 'chats', pane: 'detail' });
    await vi.waitFor(() => expect(fake.of('markRead')).toEqual([['bob']]));
    await vi.waitFor(() => expect(store.get().contacts[0]?.unread).toBe(0));
  });

  it('does not mark read when the window is not focused', async () => {
    const { ctl, store, fake } = await setup(true, false);
    await ctl.openConversation('bob');
    expect(ctl.viewing()).toBeNull();
    ctl.handleEvent({ event: 'message', message: msg('m3', 3) });
    await Promise.resolve();
    expect(fake.of('markRead')).toEqual([]);
    expect(store.get().contacts[0]?.unread).toBe(3);
  });

  it('on narrow screens, a conversation behind the list is not being read', async () => {
    const { ctl, store, fake } = await setup(false, true);
    await ctl.openConversation('bob');
    await vi.waitFor(() => expect(fake.of('markRead')).toHaveLength(1));
    await vi.waitFor(() => expect(store.get().contacts[0]?.unread).toBe(0));
    ctl.back();
    expect(ctl.viewing()).toBeNull();
    ctl.handleEvent({ event: 'message', message: msg('m3', 3) });
    await Promise.resolve();
    expect(fake.of('markRead')).toHaveLength(1);
    expect(store.get().contacts[0]?.unread).toBe(1);
  });

  it('throttles set_typing to every 3 s and stops it when the field empties', async () => {
    const { ctl, fake } = await setup();
    await ctl.openConversation('bob');
    ctl.typing('h', 1000);
    ctl.typing('he', 2000);
    ctl.typing('hel', 3999);
    ctl.typing('hell', 4000);
    ctl.typing('', 4500);
    ctl.typing('', 4600);
    expect(fake.of('setTyping')).toEqual([
      ['bob', true],
      ['bob', true],
      ['bob', false],
    ]);
  });

  it('loads older pages once at a time with the cursor', async () => {
    const { ctl, fake } = await setup();
    await ctl.openConversation('bob');
    await Promise.all([ctl.loadOlder(), ctl.loadOlder()]);
    expect(fake.of('historyPage')).toEqual([
      ['bob', undefined, 50],
      ['bob', 'c1', 50],
    ]);
  });

  it('puts the theme setting in the store, "system" when the settings cannot be read, and a saved one', async () => {
    const settings: Settings = settingsOf({ theme: 'dark' });
    const store = createStore();
    new Controller(store, { api: fakeApi({ getSettings: () => settings }).api }).loadTheme();
    await vi.waitFor(() => expect(store.get().theme).toBe('dark'));
    const broken = createStore();
    new Controller(broken, { api: fakeApi({ getSettings: () => Promise.reject(new Error('no')) }).api }).loadTheme();
    await vi.waitFor(() => expect(broken.get().theme).toBe('system'));
    const ctl = new Controller(broken, { api: fakeApi({ setSettings: (s: unknown) => ({ ...(s as object), theme: 'light' }) }).api });
    expect((await ctl.saveSettings(settings)).theme).toBe('light');
    expect(broken.get().theme).toBe('light');
  });

  it('keeps the navigation in the store, where views see it change; signing out goes back to the list', async () => {
    const fake = fakeApi({ signOut: () => ({ ...online, connection: 'signed-out', me: null }) });
    const store = createStore();
    const ctl = new Controller(store, { api: fake.api });
    const seen: string[] = [];
    store.subscribe((s, prev) => {
      if (s.nav !== prev.nav) seen.push(`${s.nav.panel}/${s.nav.pane}`);
    });
    ctl.showPanel('settings');
    ctl.showPanel('settings');
    expect(store.get().nav).toEqual({ panel: 'settings', pane: 'detail' });
    await ctl.signOut(true);
    expect(ctl.nav).toEqual({ panel: 'chats', pane: 'list' });
    expect(seen).toEqual(['settings/detail', 'chats/list']);
    await ctl.signOut(false);
    expect(fake.of('signOut')).toEqual([[true], [false]]);
  });

  it('passes the start-up calls through: retry with a keyring, unlock with the code as typed but trimmed', async () => {
    const status = { ready: true, code: null, message: null, keyring: 'keyutils', keyring_name: 'kernel', kernel_keyring_available: false };
    const fake = fakeApi({ startupStatus: () => status, retryStartup: () => status, unlockHistory: () => status });
    const ctl = new Controller(createStore(), { api: fake.api });
    expect(await ctl.startupStatus()).toBe(status);
    await ctl.retryStartup();
    await ctl.retryStartup('keyutils');
    expect(fake.of('retryStartup')).toEqual([[undefined], ['keyutils']]);
    await ctl.unlockHistory('  abcd-efgh \n');
    expect(fake.of('unlockHistory')).toEqual([['abcd-efgh']]);
  });

  it('the recovery code reminder follows the snapshot of recovery_code_saved, without refetching contacts', async () => {
    const fake = fakeApi({ recoveryCodeSaved: () => ({ ...online, recovery_code_pending: false, seq: 3 }), recoveryCode: () => 'ABCD-EFGH' });
    const store = createStore();
    const ctl = new Controller(store, { api: fake.api });
    store.dispatch({ type: 'snapshot', snapshot: { ...online, recovery_code_pending: true } });
    expect(store.get().recoveryCodePending).toBe(true);
    expect(await ctl.recoveryCode()).toBe('ABCD-EFGH');
    await ctl.recoveryCodeSaved();
    expect(store.get().recoveryCodePending).toBe(false);
    expect(fake.of('contacts')).toEqual([]);
  });

  it('Escape/back closes a panel first, then (narrow) the conversation pane', async () => {
    const fake = fakeApi();
    const store = createStore();
    const ctl = new Controller(store, { api: fake.api, isWide: () => false });
    store.dispatch({ type: 'snapshot', snapshot: online });
    await ctl.openConversation('bob');
    ctl.showPanel('search');
    expect(ctl.nav).toEqual({ panel: 'search', pane: 'detail' });
    expect(ctl.back()).toBe(true);
    expect(ctl.nav).toEqual({ panel: 'chats', pane: 'list' });
    expect(ctl.back()).toBe(false);
  });

  it('loads the safety numbers once when a conversation opens, and again on a key event for it', async () => {
    let numbers = [safetyNumber()];
    const { ctl, store, fake } = await setup(true, true, { safetyNumbers: () => numbers });
    await ctl.openConversation('bob');
    await vi.waitFor(() => expect(store.get().open?.safety).toEqual([safetyNumber()]));
    expect(fake.of('safetyNumbers')).toEqual([['bob']]);
    // Other state changes load nothing.
    ctl.handleEvent({ event: 'message', message: msg('m3', 3) });
    ctl.handleEvent({ event: 'typing', user_id: 'bob', active: true });
    // Another contact's key event neither.
    ctl.handleEvent({ event: 'identity-new-device', user_id: 'carol', device: 'phone' });
    expect(fake.of('safetyNumbers')).toHaveLength(1);
    numbers = [safetyNumber({ verified: true, changed: true, number: '1'.repeat(60) })];
    ctl.handleEvent({ event: 'identity-changed', user_id: 'bob', device: 'laptop', verified: true });
    await vi.waitFor(() => expect(store.get().open?.safety?.[0]?.changed).toBe(true));
    ctl.handleEvent({ event: 'identity-new-device', user_id: 'bob', device: 'phone' });
    await vi.waitFor(() => expect(fake.of('safetyNumbers')).toHaveLength(3));
  });

  it('verify and accept reload the numbers; a failed load in the background reports nothing', async () => {
    let numbers = [safetyNumber()];
    const { ctl, store, fake } = await setup(true, true, {
      safetyNumbers: () => numbers,
      verifyContact: () => {
        numbers = [safetyNumber({ verified: true })];
        return 1;
      },
      acceptIdentity: () => {
        numbers = [safetyNumber()];
        return 1;
      },
    });
    await ctl.openConversation('bob');
    expect(await ctl.verifyContact('bob')).toBe(1);
    expect(store.get().open?.safety).toEqual([safetyNumber({ verified: true })]);
    numbers = [safetyNumber({ verified: true, changed: true })];
    await ctl.refreshSafety('bob');
    expect(await ctl.acceptIdentity('bob')).toBe(1);
    expect(store.get().open?.safety).toEqual([safetyNumber()]);
    expect(fake.of('verifyContact')).toEqual([['bob']]);
    expect(fake.of('acceptIdentity')).toEqual([['bob']]);

    const broken = await setup(true, true, { safetyNumbers: () => Promise.reject({ code: 'history_error', message: 'x' }) });
    await broken.ctl.openConversation('bob');
    await vi.waitFor(() => expect(broken.fake.of('safetyNumbers')).toHaveLength(1));
    await Promise.resolve();
    expect(broken.store.get().open?.safety).toBeNull();
    expect(broken.store.get().lastError).toBeNull();
    await expect(broken.ctl.refreshSafety('bob')).rejects.toEqual({ code: 'history_error', message: 'x' });
  });

  it('an older answer of safety_numbers does not overwrite a newer one', async () => {
    const answers: ((n: unknown) => void)[] = [];
    const { ctl, store } = await setup(true, true, { safetyNumbers: () => new Promise((resolve) => answers.push(resolve)) });
    await ctl.openConversation('bob');
    const second = ctl.refreshSafety('bob');
    answers[1]?.([safetyNumber({ verified: true })]);
    await second;
    answers[0]?.([safetyNumber()]);
    await Promise.resolve();
    await Promise.resolve();
    expect(store.get().open?.safety).toEqual([safetyNumber({ verified: true })]);
  });

  it('tells the backend the unread total whenever it changes, for the window title', async () => {
    const { ctl, store, fake } = await setup(true, false);
    // The contacts brought 2 unread.
    expect(fake.of('setUnread')).toEqual([[2]]);
    ctl.handleEvent({ event: 'message', message: msg('m9', 9) });
    expect(fake.of('setUnread')).toEqual([[2], [3]]);
    // Something else changes: not told again.
    ctl.handleEvent({ event: 'typing', user_id: 'bob', active: true });
    expect(fake.of('setUnread')).toHaveLength(2);
    store.dispatch({ type: 'read', conversationId: 'bob' });
    expect(fake.of('setUnread').at(-1)).toEqual([0]);
  });

  it('opens only http(s) and mailto links, through the backend', async () => {
    const { ctl, fake } = await setup();
    await ctl.openUrl('https://example.org/a');
    await ctl.openUrl('javascript:alert(1)');
    await ctl.openUrl('file:///etc/passwd');
    await ctl.openUrl('mailto:bob@example.org');
    expect(fake.of('openUrl')).toEqual([['https://example.org/a'], ['mailto:bob@example.org']]);
  });

  it('previews a theme until Settings is left', async () => {
    const { ctl, store } = await setup();
    ctl.showPanel('settings');
    ctl.previewTheme('dark');
    expect(store.get().themePreview).toBe('dark');
    ctl.back();
    expect(store.get().themePreview).toBeNull();
  });

  it('an avatar that could not be fetched is asked for again (never kept as none), and once online again', async () => {
    let fail = true;
    const { ctl, store, fake } = await setup(true, true, {
      avatar: () => {
        if (fail) throw { code: 'not_online', message: 'not yet' };
        return new Uint8Array([1, 2, 3]);
      },
    });
    const bob = user('bob', { avatar_url: '/avatars/bob?v=1' });
    expect(await ctl.avatar(bob)).toBeNull();
    fail = false;
    const url = await ctl.avatar(bob);
    expect(url).toMatch(/^blob:/);
    // Fetched once it worked, then kept.
    expect(await ctl.avatar(bob)).toBe(url);
    expect(fake.of('avatar')).toEqual([['bob'], ['bob']]);
    // What waits for the connection runs once, when it comes (back) online.
    const retried: string[] = [];
    ctl.whenOnline(() => retried.push('avatar'));
    ctl.handleEvent({ event: 'typing', user_id: 'bob', active: true });
    expect(retried).toEqual([]);
    ctl.handleEvent({ event: 'offline', reason: 'eof' });
    ctl.handleEvent({ event: 'online', peer_id: 'p', user: user('alice') });
    ctl.handleEvent({ event: 'offline', reason: 'eof' });
    ctl.handleEvent({ event: 'online', peer_id: 'p', user: user('alice') });
    expect(retried).toEqual(['avatar']);
    expect(store.get().connection).toBe('online');
  });

  it('sends a reply with the id it answers; edits, deletions and reactions land in the store', async () => {
    const mine = msg('o1', 3, { direction: 'outgoing', body: 'hello' });
    const { ctl, store, fake } = await setup(true, true, {
      historyPage: () => ({ messages: [mine, msg('m2', 2), msg('m1', 1)], next: null }),
      editMessage: (_c: unknown, _id: unknown, body: unknown) => ({ ...mine, body: String(body), edited_at: 5 }),
      react: (_c: unknown, _id: unknown, emoji: unknown) => ({ ...mine, reactions: emoji === null ? [] : [{ user_id: 'alice', emoji: String(emoji) }] }),
      deleteMessage: () => null,
    });
    await ctl.openConversation('bob');
    await ctl.send('plain');
    await ctl.send('answer', 'm1');
    expect(fake.of('sendMessage')).toEqual([
      ['bob', 'plain', undefined],
      ['bob', 'answer', 'm1'],
    ]);
    const shown = (id: string) => store.get().open?.messages.find((m) => m.id === id);

    await ctl.editMessage(mine, 'hello again');
    expect(fake.of('editMessage')).toEqual([['bob', 'o1', 'hello again']]);
    expect(shown('o1')).toMatchObject({ body: 'hello again', edited_at: 5 });
    await ctl.react(mine, '👍');
    expect(shown('o1')?.reactions).toEqual([{ user_id: 'alice', emoji: '👍' }]);
    await ctl.react(mine, null);
    expect(fake.of('react')).toEqual([
      ['bob', 'o1', '👍'],
      ['bob', 'o1', null],
    ]);

    await ctl.deleteMessage(mine, true);
    expect(shown('o1')).toMatchObject({ deleted: true, body: '', reactions: [] });
    const contactsBefore = fake.of('contacts').length;
    await ctl.deleteMessage(msg('m2', 2), false);
    expect(fake.of('deleteMessage')).toEqual([
      ['bob', 'o1', true],
      ['bob', 'm2', false],
    ]);
    expect(shown('m2')).toBeUndefined();
    // The contact's preview and unread count may have changed: asked again.
    expect(fake.of('contacts').length).toBe(contactsBefore + 1);
  });

  it("shows a quoted message: highlighted at once when loaded, else with the pages around it", async () => {
    const { ctl, store, fake } = await setup(true, true, {
      messageCursor: (id: unknown) => `c-${String(id)}`,
      historyAfter: (_c: unknown, after: unknown) => (after === 'c-q' ? { messages: [msg('n1', 11), msg('n2', 12)], next: null } : { messages: [], next: null }),
      historyPage: (_c: unknown, before: unknown) =>
        before === 'c-n1' ? { messages: [msg('q', 10), msg('p1', 9)], next: 'c-p1' } : { messages: [msg('m2', 2), msg('m1', 1)], next: 'c1' },
    });
    await ctl.openConversation('bob');
    await ctl.showMessage('m1');
    expect(store.get().open?.highlightId).toBe('m1');
    expect(fake.of('messageCursor')).toEqual([]);

    await ctl.showMessage('q');
    const open = store.get().open;
    expect(open?.messages.map((m) => m.id)).toEqual(['p1', 'q', 'n1', 'n2']);
    expect(open?.highlightId).toBe('q');
    expect(open?.older).toBe('c-p1');
    expect(fake.of('messageCursor')).toEqual([['q'], ['n1']]);
  });

  it('a quoted message that is the newest: the latest page holds it', async () => {
    const { ctl, store } = await setup(true, true, {
      messageCursor: () => 'c-q',
      historyAfter: () => ({ messages: [], next: null }),
      historyPage: (_c: unknown, before: unknown) => (before === undefined ? { messages: [msg('q', 3), msg('m2', 2)], next: null } : { messages: [], next: null }),
    });
    store.dispatch({ type: 'open', userId: 'bob', title: 'Bob' });
    await ctl.showMessage('q');
    expect(store.get().open?.highlightId).toBe('q');
    expect(store.get().open?.newer).toBeNull();
  });

  it('a clicked notification opens its conversation', async () => {
    const handlers: Record<string, (x: unknown) => void> = {};
    const { ctl, store, fake } = await setup(true, true, {
      onCoreEvent: (h: (x: unknown) => void) => {
        handlers.core = h;
        return () => undefined;
      },
      onOpenConversation: (h: (x: unknown) => void) => {
        handlers.open = h;
        return () => undefined;
      },
    });
    await ctl.listen();
    ctl.showPanel('settings');
    handlers.open?.('bob');
    await vi.waitFor(() => expect(store.get().open?.userId).toBe('bob'));
    expect(ctl.nav).toEqual({ panel: 'chats', pane: 'detail' });
    // Already open: it is shown, not loaded again.
    ctl.showPanel('search');
    handlers.open?.('bob');
    expect(ctl.nav).toEqual({ panel: 'chats', pane: 'detail' });
    expect(fake.of('openConversation')).toHaveLength(1);
  });

  it('asks the folder picker to open at the folder typed', async () => {
    const { ctl, fake } = await setup(true, true, { pickFolder: () => '/home/alice/Files' });
    expect(await ctl.pickFolder('  /home/alice/Downloads ')).toBe('/home/alice/Files');
    await ctl.pickFolder('  ');
    expect(fake.of('pickFolder')).toEqual([['/home/alice/Downloads'], [undefined]]);
  });

  it('files: the picker (cancelled sends nothing), bytes with their name, decisions into the store', async () => {
    const file = { name: 'a.pdf', size: 10, mime: 'application/pdf', sha256: '', width: null, height: null, thumbnail: null, state: 'waiting', bytes_done: 0, error: null, path: null, missing: false } as const;
    const out = (id: string, seq: number, name: string) => msg(id, seq, { direction: 'outgoing', body: name, state: 'pending', file: { ...file, name } });
    let picked: string[] = [];
    const { ctl, store, fake } = await setup(true, true, {
      pickFiles: () => picked,
      sendFiles: (_u: unknown, paths: unknown) => (paths as string[]).map((p, i) => out(`f${i}`, 10 + i, p.split('/').pop() ?? '')),
      sendPastedFile: (_u: unknown, name: unknown) => out('p1', 20, String(name)),
      cancelFile: () => ({ ...out('f0', 10, 'a.pdf'), file: { ...file, state: 'cancelled' } }),
    });
    // No conversation open: nothing to send to.
    expect(await ctl.attachFiles()).toBe(0);
    expect(fake.of('pickFiles')).toEqual([]);
    await ctl.openConversation('bob');
    expect(await ctl.attachFiles()).toBe(0);
    expect(fake.of('sendFiles')).toEqual([]);
    picked = ['/x/a.pdf', '/x/b.txt'];
    expect(await ctl.attachFiles()).toBe(2);
    expect(fake.of('sendFiles')).toEqual([['bob', ['/x/a.pdf', '/x/b.txt']]]);
    expect(store.get().open?.messages.map((m) => m.body)).toEqual(['message m1', 'message m2', 'a.pdf', 'b.txt']);
    const bytes = new Uint8Array([1, 2, 3]);
    await ctl.sendFileBytes('Pasted image.png', bytes);
    expect(fake.of('sendPastedFile')).toEqual([['bob', 'Pasted image.png', bytes]]);
    const sent = store.get().open?.messages.find((m) => m.id === 'f0');
    await ctl.fileDecision(sent as Message, 'cancel');
    expect(fake.of('cancelFile')).toEqual([['bob', 'f0']]);
    expect(store.get().open?.messages.find((m) => m.id === 'f0')?.file?.state).toBe('cancelled');
  });
  it('calls: start_call goes into the store at once; call-signal events go to their listeners as they came; the current call is loaded', async () => {
    const view = { id: 'c1', user_id: 'bob', outgoing: true, video: true, phase: 'calling', end: null, remote_audio: true, remote_video: true, started_at: 1, answered_at: null } as const;
    const { ctl, store, fake } = await setup(true, true, {
      startCall: () => view,
      currentCall: () => ({ ...view, phase: 'active', answered_at: 2 }),
      callSignal: () => null,
    });
    // The event overtook the command's answer: the answer does not take the call back.
    ctl.handleEvent({ event: 'call', call: { ...view, phase: 'ringing-there' } });
    expect(await ctl.startCall('bob', true)).toEqual(view);
    expect(store.get().call?.phase).toBe('ringing-there');
    expect(fake.of('startCall')).toEqual([['bob', true]]);

    const heard: unknown[] = [];
    const stop = ctl.onCallSignal((id, signal) => heard.push([id, signal]));
    ctl.onCallSignal(() => {
      throw new Error('a broken listener');
    });
    ctl.handleEvent({ event: 'call-signal', call_id: 'c1', signal: { kind: 'start', offerer: true, ice_servers: [] } });
    stop();
    ctl.handleEvent({ event: 'call-signal', call_id: 'c1', signal: { kind: 'ice', candidate: '', mid: null, mline: null } });
    expect(heard).toEqual([['c1', { kind: 'start', offerer: true, ice_servers: [] }]]);

    await ctl.sendCallSignal('c1', { kind: 'ice', candidate: '', mid: null, mline: null });
    expect(fake.of('callSignal')).toEqual([['c1', { kind: 'ice', candidate: '', mid: null, mline: null }]]);
    expect((await ctl.loadCurrentCall())?.phase).toBe('active');
    expect(store.get().call?.phase).toBe('active');
    ctl.handleEvent({ event: 'call', call: { ...view, phase: 'ended', end: { kind: 'hung-up', by: 'them' } } });
    ctl.dismissCall('c1');
    expect(store.get().call).toBeNull();
  });

  it('calls are supported where the webview has a camera/microphone API and WebRTC, or WebCodecs and an AudioWorklet for the bridge', async () => {
    const { ctl } = await setup(true, true, { reportMediaCaps: () => undefined });
    expect(ctl.callsSupported).toBe(false);
    ctl.reportMediaCaps({ rtc_peer_connection: true, get_user_media: true, web_codecs: false, audio_worklet: false });
    expect(ctl.callsSupported).toBe(true);
    ctl.reportMediaCaps({ rtc_peer_connection: false, get_user_media: true, web_codecs: true, audio_worklet: true });
    expect(ctl.callsSupported).toBe(true);
    ctl.reportMediaCaps({ rtc_peer_connection: false, get_user_media: true, web_codecs: false, audio_worklet: true });
    expect(ctl.callsSupported).toBe(false);
    ctl.reportMediaCaps({ rtc_peer_connection: true, get_user_media: false, web_codecs: true, audio_worklet: true });
    expect(ctl.callsSupported).toBe(false);
  });

  it('the media bridge’s commands go through as they are, the records as the raw body', async () => {
    const received = Uint8Array.from([3, 0, 0, 0]);
    const { ctl, fake } = await setup(true, true, { mediaOpen: () => null, mediaSignal: () => null, mediaSend: () => null, mediaReceive: () => received, mediaMicrophone: () => ({ captured: true, echo_cancelled: false, detail: 'mic' }), mediaClose: () => null });
    const ice = [{ urls: ['stun:s.example:3478'], username: null, credential: null }];
    await ctl.mediaOpen('c1', true, false, ice);
    await ctl.mediaSignal('c1', { kind: 'ice', candidate: '', mid: null, mline: null });
    await ctl.mediaSend('c1', Uint8Array.from([1, 2]));
    expect(await ctl.mediaReceive('c1')).toBe(received);
    expect(await ctl.mediaMicrophone('c1', 'Built-in Audio', false)).toEqual({ captured: true, echo_cancelled: false, detail: 'mic' });
    await ctl.mediaClose('c1');
    expect(fake.calls.map(([name, args]) => [name, args])).toEqual(
      expect.arrayContaining([
        ['mediaOpen', ['c1', true, false, ice]],
        ['mediaSignal', ['c1', { kind: 'ice', candidate: '', mid: null, mline: null }]],
        ['mediaSend', ['c1', Uint8Array.from([1, 2])]],
        ['mediaReceive', ['c1']],
        ['mediaMicrophone', ['c1', 'Built-in Audio', false]],
        ['mediaClose', ['c1']],
      ]),
    );
  });
});
