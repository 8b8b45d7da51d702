// Browser tests of the whole UI against the mock backend (mock-backend.ts), in real Chromium.
import assert from 'node:assert/strict';
import { mock, openContact, pageTest, sidewaysOverflow } from './harness.mjs';

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>';

pageTest('signing in: wrong password, then the right one', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  assert.equal(await page.isChecked('#server-embedded'), true, '"This device" is the default');
  await page.fill('#signin-login', 'alice');
  await page.fill('#signin-password', 'wrong');
  await page.click('#signin-submit');
  await page.waitForFunction(() => document.querySelector('#auth-error')?.textContent !== '');
  assert.equal(await page.textContent('#auth-error'), 'Wrong username, email or password.');
  assert.equal(await page.getAttribute('#auth-error', 'role'), 'alert');
  await page.fill('#signin-password', 'correct horse');
  await page.press('#signin-password', 'Enter');
  await page.waitForSelector('#main[data-connection="online"]');
  assert.equal(await page.getAttribute('#me', 'data-username'), 'alice');
  const signIn = await mock(page, 'callsOf', 'sign_in');
  assert.deepEqual(signIn.at(-1), { server: { kind: 'embedded' }, login: 'alice', password: 'correct horse' });
});

pageTest('signing in: a bad server address, and an unreachable server', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  await page.check('#server-url');
  await page.fill('#server-url-input', 'ftp://chat.example.org');
  await page.fill('#signin-login', 'alice');
  await page.fill('#signin-password', 'correct horse');
  await page.click('#signin-submit');
  assert.match(await page.textContent('#auth-error'), /Unsupported scheme "ftp:"/);
  assert.equal((await mock(page, 'callsOf', 'sign_in')).length, 0, 'not sent');
  await page.fill('#server-url-input', 'unreachable.example.org');
  await page.click('#signin-submit');
  await page.waitForFunction(() => /reach the server/.test(document.querySelector('#auth-error')?.textContent ?? ''));
  assert.equal(await page.inputValue('#server-url-input'), 'https://unreachable.example.org', 'normalized');
  const signIn = await mock(page, 'callsOf', 'sign_in');
  assert.deepEqual(signIn.at(-1).server, { kind: 'url', url: 'https://unreachable.example.org' });
  assert.equal(await page.$('#main'), null);
});

pageTest('creating an account: a taken name, then a new one', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  await page.click('#tab-signup');
  assert.equal(await page.isVisible('#signup-username'), true);
  assert.equal(await page.isVisible('#signin-login'), false);
  await page.fill('#signup-username', 'bob');
  await page.fill('#signup-email', 'bob2@example.org');
  await page.fill('#signup-password', 'long enough');
  await page.click('#signup-submit');
  await page.waitForFunction(() => /taken/.test(document.querySelector('#auth-error')?.textContent ?? ''));
  await page.fill('#signup-username', 'dave');
  await page.fill('#signup-display-name', 'Dave D.');
  await page.click('#signup-submit');
  await page.waitForSelector('#main[data-connection="online"]');
  assert.equal(await page.getAttribute('#me', 'data-username'), 'dave');
  assert.equal(await page.textContent('#me .me-name'), 'Dave D.');
  const args = (await mock(page, 'callsOf', 'sign_up')).at(-1);
  assert.deepEqual(args, { server: { kind: 'embedded' }, username: 'dave', email: 'bob2@example.org', password: 'long enough', displayName: 'Dave D.' });
});

pageTest('restoring an offline session shows the main screen and the banner', { session: 'offline' }, async (page) => {
  await page.waitForSelector('#main[data-connection="offline"]');
  assert.equal(await page.isVisible('#offline-banner'), true);
  assert.match(await page.textContent('#offline-banner'), /history and search still work/);
});

pageTest('sending: Enter sends, Shift+Enter makes a new line', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  await page.focus('#composer');
  await page.keyboard.type('hello');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('world');
  assert.equal(await page.inputValue('#composer'), 'hello\nworld');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#messages .message[data-direction="outgoing"]');
  assert.equal(await page.inputValue('#composer'), '');
  const sent = await mock(page, 'callsOf', 'send_message');
  assert.deepEqual(sent, [{ userId: 'bob', body: 'hello\nworld' }]);
  const rows = await page.$$eval('#messages .message', (ms) => ms.map((m) => ({ body: m.querySelector('.body')?.textContent, state: m.getAttribute('data-state') })));
  assert.deepEqual(rows, [{ body: 'hello\nworld', state: 'pending' }], 'shown once (event and command result)');
  // The line break is kept on screen.
  assert.equal(await page.$eval('#messages .message .body', (b) => getComputedStyle(b).whiteSpace), 'pre-wrap');
  assert.equal(await page.isVisible('#messages .day'), true);
  assert.equal(await page.textContent('#messages .day'), 'Today');
  assert.match(await page.textContent('#contacts [data-user-id="bob"] .preview'), /^You: hello world/);
});

pageTest('message length is counted as the core counts it: 12,000 emoji go, one more is refused', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  // 24,000 UTF-16 units: a UTF-16 count (or a maxlength attribute) would have refused it.
  await page.fill('#composer', '😀'.repeat(12_000));
  await page.click('#send');
  await page.waitForSelector('#messages .message[data-direction="outgoing"]');
  assert.equal(await page.$eval('#messages .message .body', (b) => [...b.textContent].length), 12_000);
  await page.fill('#composer', '😀'.repeat(12_001));
  await page.click('#send');
  assert.equal(await page.textContent('#composer-error'), 'A message can have at most 12,000 characters.');
  assert.equal(await page.$$eval('#messages .message', (ms) => ms.length), 1, 'not sent');
});

pageTest('delivery ticks advance pending → sent → delivered → read', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  await page.fill('#composer', 'tick tock');
  await page.click('#send');
  const row = '#messages .message[data-direction="outgoing"]';
  await page.waitForSelector(`${row}[data-state="pending"]`);
  const id = await page.getAttribute(row, 'data-id');
  const tick = async () => page.$eval(`${row} .tick`, (t) => ({ label: t.getAttribute('aria-label'), text: t.textContent, read: t.classList.contains('read') }));
  assert.deepEqual(await tick(), { label: 'Sending', text: '◷', read: false });
  for (const [state, label, text] of [['sent', 'Sent', '✓'], ['delivered', 'Delivered', '✓✓'], ['read', 'Read', '✓✓']]) {
    await mock(page, 'setState', id, state);
    await page.waitForSelector(`${row}[data-state="${state}"]`);
    assert.deepEqual(await tick(), { label, text, read: state === 'read' });
  }
  // A late "delivered" does not take it back.
  await mock(page, 'setState', id, 'delivered');
  await page.waitForTimeout(50);
  assert.equal(await page.getAttribute(row, 'data-state'), 'read');
});

pageTest('receiving: unread badge, typing, then read when opened', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'carol');
  await mock(page, 'typing', 'bob', true);
  await page.waitForFunction(() => document.querySelector('#contacts [data-user-id="bob"] .preview')?.textContent === 'typing…');
  await mock(page, 'receive', 'bob', 'hi Alice');
  await page.waitForSelector('#contacts [data-user-id="bob"] .unread');
  assert.equal(await page.textContent('#contacts [data-user-id="bob"] .unread'), '1');
  assert.equal(await page.$eval('#contacts li', (li) => li.getAttribute('data-user-id')), 'bob', 'unread first');
  assert.equal((await mock(page, 'callsOf', 'mark_read')).filter((a) => a.conversationId === 'bob').length, 0);
  await openContact(page, 'bob');
  await page.waitForSelector('#messages .message[data-direction="incoming"]');
  assert.equal(await page.textContent('#messages .message[data-direction="incoming"] .body'), 'hi Alice');
  await page.waitForFunction(() => document.querySelector('#contacts [data-user-id="bob"] .unread') === null);
  assert.deepEqual((await mock(page, 'callsOf', 'mark_read')).at(-1), { conversationId: 'bob' });
  // Typing in the open conversation, and a message arriving while it is open.
  await mock(page, 'typing', 'bob', true);
  await page.waitForFunction(() => document.querySelector('#typing')?.textContent === 'Bob is typing…');
  await mock(page, 'receive', 'bob', 'second');
  await page.waitForFunction(() => document.querySelectorAll('#messages .message').length === 2);
  assert.equal(await page.textContent('#typing'), '', 'a message ends typing');
  assert.equal(await page.textContent('#announcer'), 'Bob: second');
  assert.equal(await page.$('#contacts [data-user-id="bob"] .unread'), null);
});

pageTest('typing notifications are throttled and stop on send', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  await page.focus('#composer');
  await page.keyboard.type('abcdef', { delay: 20 });
  assert.deepEqual(await mock(page, 'callsOf', 'set_typing'), [{ userId: 'bob', active: true }]);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.__parleyMock.callsOf('set_typing').length === 2);
  assert.deepEqual((await mock(page, 'callsOf', 'set_typing')).at(-1), { userId: 'bob', active: false });
});

pageTest('the offline banner comes and goes with the connection', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main[data-connection="online"]');
  await openContact(page, 'carol');
  assert.equal(await page.isVisible('#offline-banner'), false);
  await mock(page, 'goOffline');
  await page.waitForSelector('#main[data-connection="offline"]');
  assert.equal(await page.isVisible('#offline-banner'), true);
  assert.match(await page.textContent('#offline-banner'), /queued/);
  await page.waitForSelector('#messages .system');
  assert.match(await page.textContent('#messages .system'), /Connection lost/);
  // The banner takes room, but a list at the bottom stays at the bottom.
  await page.waitForTimeout(100);
  const inView = await page.evaluate(() => {
    const s = document.querySelector('#messages').getBoundingClientRect();
    const r = document.querySelector('#messages .system').getBoundingClientRect();
    return r.top >= s.top && r.bottom <= s.bottom + 1;
  });
  assert.equal(inView, true, 'the system line is in view');
  // Sending still works offline: it is queued.
  await page.fill('#composer', 'queued one');
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-state="pending"]');
  await mock(page, 'goOnline');
  await page.waitForSelector('#main[data-connection="online"]');
  assert.equal(await page.isVisible('#offline-banner'), false);
  const lines = await page.$$eval('#messages .system', (s) => s.map((x) => x.textContent));
  assert.equal(lines.at(-1), 'Connection restored.');
});

pageTest('peer text is text: markup in a message creates no elements and runs nothing', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  await mock(page, 'receive', 'bob', XSS);
  await page.waitForSelector('#messages .message[data-direction="incoming"]');
  await page.fill('#composer', XSS);
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-direction="outgoing"]');
  const bodies = await page.$$eval('#messages .message .body', (b) => b.map((x) => x.textContent));
  assert.deepEqual(bodies, [XSS, XSS]);
  assert.equal(await page.$$eval('#messages img, #messages script, #messages b, #contacts img, #contacts b', (e) => e.length), 0);
  assert.match(await page.textContent('#contacts [data-user-id="bob"] .preview'), /<img src=x/);
  // In search results too: only <mark> elements are made.
  await page.click('#nav-search');
  await page.fill('#search-input', 'onerror');
  await page.waitForSelector('#search-results [data-message-id]');
  assert.equal(await page.$$eval('#search-results img, #search-results script, #search-results b', (e) => e.length), 0);
  assert.deepEqual(await page.$$eval('#search-results li:first-child mark', (m) => m.map((x) => x.textContent)), ['onerror']);
  assert.equal(await page.$eval('#search-results .snippet', (s) => s.textContent), XSS);
  await page.waitForTimeout(100);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

pageTest('a long history renders a bounded number of rows and loads older pages on scroll', { session: 'online', history: 5000 }, async (page) => {
  await page.waitForSelector('#main');
  await openContact(page, 'bob');
  await page.waitForSelector('#messages .message');
  const last = await mock(page, 'lastMessage', 'bob');
  await page.waitForSelector(`#messages .message[data-id="${last.id}"]`);
  const visible = (id) =>
    page.evaluate((id) => {
      const s = document.querySelector('#messages').getBoundingClientRect();
      const r = document.querySelector(`#messages .message[data-id="${id}"]`)?.getBoundingClientRect();
      return r !== undefined && r.bottom > s.top && r.top < s.bottom;
    }, id);
  assert.equal(await visible(last.id), true, 'opens at the newest message');
  const count = () => page.$$eval('#messages .row', (r) => r.length);
  assert.ok((await count()) < 60, `few rows in the DOM: ${await count()}`);
  assert.equal((await mock(page, 'callsOf', 'history_page')).length, 1);

  // Scroll up step by step: older pages load and the view does not jump.
  for (let i = 0; i < 12; i++) {
    const before = await page.evaluate(() => {
      const s = document.querySelector('#messages');
      const top = s.getBoundingClientRect().top;
      const row = [...s.querySelectorAll('.message')].find((m) => m.getBoundingClientRect().top >= top);
      return { id: row.getAttribute('data-id'), y: row.getBoundingClientRect().top };
    });
    await page.evaluate(() => {
      document.querySelector('#messages').scrollTop -= 500;
    });
    await page.waitForTimeout(60);
    await page.waitForFunction(() => document.querySelector('#messages')?.getAttribute('aria-busy') === 'false');
    const y = await page.evaluate((id) => document.querySelector(`#messages .message[data-id="${id}"]`)?.getBoundingClientRect().top ?? null, before.id);
    if (y !== null) assert.ok(Math.abs(y - (before.y + 500)) < 80, `row ${before.id} moved by the scroll only: ${before.y} → ${y}`);
  }
  const pages = await mock(page, 'callsOf', 'history_page');
  assert.ok(pages.length >= 2, `older pages loaded: ${pages.length}`);
  assert.ok(pages.slice(1).every((p) => typeof p.before === 'string'), 'with a before cursor');
  assert.ok((await count()) < 60, `still few rows: ${await count()}`);

  // New messages keep the view where it is when not at the bottom...
  await mock(page, 'receive', 'bob', 'while scrolled up');
  await page.waitForTimeout(100);
  const m1 = await mock(page, 'lastMessage', 'bob');
  assert.equal(await visible(m1.id), false);
  // ...and stick to the bottom when at the bottom.
  await page.evaluate(() => {
    const s = document.querySelector('#messages');
    s.scrollTop = s.scrollHeight;
  });
  await page.waitForTimeout(100);
  await mock(page, 'receive', 'bob', 'at the bottom');
  const m2 = await mock(page, 'lastMessage', 'bob');
  await page.waitForSelector(`#messages .message[data-id="${m2.id}"]`);
  await page.waitForTimeout(50);
  assert.equal(await visible(m2.id), true);
});

pageTest('search across conversations, and jumping to a hit', { session: 'online', history: 3000 }, async (page) => {
  await page.waitForSelector('#main');
  await page.keyboard.press('Control+k');
  await page.waitForSelector('#search:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
  await page.keyboard.type('needle');
  await page.waitForSelector('#search-results [data-message-id]');
  const hit = await mock(page, 'messageWithBody', 'the needle');
  assert.deepEqual(await page.$$eval('#search-results [data-message-id]', (h) => h.map((x) => x.getAttribute('data-message-id'))), [hit.id]);
  assert.equal(await page.textContent('#search-results mark'), 'needle');
  await page.click(`#search-results [data-message-id="${hit.id}"]`);
  await page.waitForSelector(`#messages .message[data-id="${hit.id}"].highlight`);
  assert.equal(await page.getAttribute('#conversation', 'data-user-id'), 'bob');
  const inView = await page.evaluate((id) => {
    const s = document.querySelector('#messages').getBoundingClientRect();
    const r = document.querySelector(`#messages .message[data-id="${id}"]`).getBoundingClientRect();
    return r.top >= s.top && r.bottom <= s.bottom;
  }, hit.id);
  assert.equal(inView, true, 'scrolled to the hit');
  assert.equal(await page.isVisible('#jump-latest'), true);
  assert.deepEqual((await mock(page, 'callsOf', 'message_cursor')).at(-1), { messageId: hit.id });
  assert.equal((await mock(page, 'callsOf', 'history_after')).length, 1);
  // Escape closes the search panel; here it is already closed, so it goes nowhere odd.
  assert.ok((await page.$$eval('#messages .row', (r) => r.length)) < 60);
});

pageTest('Escape closes panels', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings:not([hidden])');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#settings', { state: 'hidden' });
  assert.equal(await page.getAttribute('#main', 'data-panel'), 'chats');
});

pageTest('a panel stays alone in front of the open conversation when something arrives behind it', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await page.click('#nav-search');
  await page.waitForSelector('#search:not([hidden])');
  assert.equal(await page.isVisible('#conversation'), false);
  await mock(page, 'receive', 'carol', 'hello from behind');
  await page.waitForSelector('#contacts [data-user-id="carol"] .unread');
  assert.equal(await page.isVisible('#conversation'), false, 'the conversation stays behind the panel');
  assert.equal(await page.isVisible('#search'), true);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#conversation:not([hidden])');
  assert.equal(await page.isVisible('#search'), false);
});

pageTest('phone width: list and conversation are separate panes', { session: 'online', viewport: { width: 360, height: 740 } }, async (page) => {
  await page.waitForSelector('#main');
  assert.equal(await page.isVisible('#contacts'), true);
  assert.equal(await page.isVisible('#detail'), false);
  await page.click('#contacts [data-user-id="carol"] button');
  await page.waitForSelector('#conversation:not([hidden])');
  assert.equal(await page.isVisible('#contacts'), false);
  assert.equal(await page.isVisible('#composer'), true);
  assert.equal(await page.isVisible('#back'), true);
  const overflow = await sidewaysOverflow(page);
  assert.ok(overflow <= 0, `no sideways scrolling: ${overflow}px`);
  const composer = await page.$eval('#composer', (c) => c.getBoundingClientRect());
  assert.ok(composer.right <= 360 && composer.bottom <= 740, 'composer on screen');
  await page.click('#back');
  await page.waitForSelector('#contacts', { state: 'visible' });
  assert.equal(await page.isVisible('#conversation'), false);
  // Escape goes back too.
  await page.click('#contacts [data-user-id="carol"] button');
  await page.waitForSelector('#composer', { state: 'visible' });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#contacts', { state: 'visible' });
});

pageTest('rooms: directory, join, roster contacts online, leave', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.waitForSelector('#room-directory [data-room="lobby"]', { state: 'attached' });
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#rooms [data-room="lobby"]');
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
  assert.equal(await page.getAttribute('#contacts [data-user-id="carol"]', 'data-online'), 'true');
  await page.click('#rooms [data-room="lobby"] .leave');
  await page.waitForSelector('#rooms [data-room="lobby"]', { state: 'detached' });
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="false"]');
  assert.equal(await page.$$eval('#contacts [data-user-id]', (c) => c.length), 2, 'offline contacts stay listed');
});

pageTest('settings: theme, validation and media capabilities', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  // The webview's media support is a diagnostic, folded away at the bottom.
  await page.waitForSelector('#settings-media li', { state: 'attached' });
  assert.equal(await page.isVisible('#settings-media'), false);
  await page.click('#settings-diagnostics summary');
  await page.waitForSelector('#settings-media li');
  assert.equal(await page.$$eval('#settings-media li', (l) => l.length), 4);
  assert.equal(await page.getAttribute('#settings-media [data-cap="rtc_peer_connection"]', 'data-available'), 'true');
  const caps = (await mock(page, 'callsOf', 'report_media_caps'))[0];
  assert.equal(caps.caps.rtc_peer_connection, true);
  await page.check('#settings-theme-dark');
  await page.fill('#settings-download-dir', 'relative/path');
  await page.click('#settings-save');
  assert.match(await page.textContent('#settings-errors'), /full path/);
  assert.equal((await mock(page, 'callsOf', 'set_settings')).length, 0);
  await page.fill('#settings-download-dir', '/home/alice/Downloads');
  await page.click('#settings-ice-add');
  await page.fill('#settings-ice li .ice-urls', 'turn:turn.example.org:3478');
  await page.fill('#settings-ice li .ice-username', 'alice');
  await page.fill('#settings-ice li .ice-credential', 's3cret');
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  const saved = (await mock(page, 'callsOf', 'set_settings')).at(-1);
  assert.deepEqual(saved.settings.ice_servers, [{ urls: ['turn:turn.example.org:3478'], username: 'alice', has_credential: true }]);
  assert.deepEqual(saved.iceCredentials, [{ index: 0, credential: 's3cret' }]);
  assert.equal(saved.settings.download_dir, '/home/alice/Downloads');
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
  assert.equal(bg, '#161a22');
});

pageTest('profile: fields and avatar upload with a blob: preview', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-profile');
  await page.waitForSelector('#profile:not([hidden])');
  assert.equal(await page.inputValue('#profile-display-name'), 'Alice');
  await page.fill('#profile-display-name', 'Alice A.');
  await page.fill('#profile-status', 'Busy');
  // A 1×1 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await page.setInputFiles('#profile-avatar-input', { name: 'me.png', mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => document.querySelector('#profile-avatar-preview')?.getAttribute('src')?.startsWith('blob:'));
  await page.click('#profile-save');
  await page.waitForFunction(() => document.querySelector('#profile-message')?.textContent === 'Profile saved.');
  assert.deepEqual((await mock(page, 'callsOf', 'update_profile')).at(-1), { displayName: 'Alice A.', bio: '', status: 'Busy' });
  const uploaded = await page.evaluate(() => {
    const a = window.__parleyMock.callsOf('upload_avatar').at(-1);
    return { isBytes: a instanceof Uint8Array, length: a.byteLength };
  });
  assert.deepEqual(uploaded, { isBytes: true, length: png.length });
  assert.equal(await page.textContent('#me .me-name'), 'Alice A.');
  await page.waitForSelector('#me img[src^="blob:"]');
});

pageTest('signing out returns to the sign-in screen with the username filled in', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#sign-out');
  await page.click('#sign-out-confirm');
  await page.waitForSelector('#auth');
  assert.equal(await page.inputValue('#signin-login'), 'alice');
});

pageTest('outside Tauri the page says so instead of crashing', { path: '/index.html' }, async (page) => {
  await page.waitForSelector('#not-tauri');
  assert.match(await page.textContent('#not-tauri'), /desktop window/);
});

pageTest('a session that ended elsewhere returns to sign-in and says why', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await mock(page, 'emit', { event: 'session-ended' });
  await page.waitForSelector('#auth');
  assert.match(await page.textContent('#auth-error'), /session ended/);
  assert.equal(await page.inputValue('#signin-login'), 'alice');
});

pageTest('background errors show in a dismissible notice', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await mock(page, 'emit', { event: 'error', code: 'rate_limited', message: 'slow down' });
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /Too many attempts/);
  await page.click('#notice button');
  await page.waitForSelector('#notice', { state: 'hidden' });
});

pageTest('the "system" theme follows the OS, live', { session: 'online' }, async (page) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  assert.equal(await page.getAttribute('html', 'data-theme-choice'), 'system');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
  assert.equal(bg, '#161a22');
});
