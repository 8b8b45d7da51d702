// Browser tests of the everyday basics (issue 15): links that open in the system browser, unread
// in the title and the "New messages" divider, a contact's profile, who is in a room, the emoji
// picker, readable ticks, the empty conversation and Settings' diagnostics, against the mock
// backend in Chromium; with screenshots of each screen, light and dark, wide and narrow.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openApp, openContact, pageTest, recordHtmlParsing, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };

// --- links -------------------------------------------------------------------------------

pageTest('links in messages open in the system browser, and nothing navigates the window', { session: 'online', init: recordHtmlParsing }, async (page) => {
  await openContact(page, 'bob');
  const url = page.url();
  const body = 'Docs: https://example.org/a?b=1&c=2. Mail mailto:carol@example.org, not javascript:alert(1) nor <a href="https://evil.example">this</a>.';
  await mock(page, 'receive', 'bob', body);
  await page.waitForSelector('#messages .message[data-direction="incoming"] a');
  const links = await page.$$eval('#messages .message a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
  // The address inside the markup is a link too, but only as the text it is (what it shows is
  // where it goes); the markup around it made no element.
  assert.deepEqual(links, [
    ['https://example.org/a?b=1&c=2', 'https://example.org/a?b=1&c=2'],
    ['mailto:carol@example.org', 'mailto:carol@example.org'],
    ['https://evil.example', 'https://evil.example/'],
  ]);
  // The text is all there, as text.
  assert.equal(await page.textContent('#messages .message[data-direction="incoming"] .body'), body);
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), [], 'no HTML parsed');

  await page.click('#messages a[href^="https:"]');
  await page.click('#messages a[href^="mailto:"]');
  // Middle click and Ctrl+click would open another webview: nothing either.
  await page.click('#messages a[href^="https:"]', { button: 'middle' });
  await page.click('#messages a[href^="https:"]', { modifiers: ['Control'] });
  await page.waitForFunction(() => window.__parleyMock.callsOf('open_url').length >= 3);
  assert.deepEqual(await callsOf(page, 'open_url'), [{ url: 'https://example.org/a?b=1&c=2' }, { url: 'mailto:carol@example.org' }, { url: 'https://example.org/a?b=1&c=2' }]);
  assert.equal(page.url(), url, 'the window did not navigate');
  assert.equal(page.context().pages().length, 1, 'no other window');

  // Any other link in the page (however it got there) does not navigate it either.
  await page.evaluate(() => {
    const a = document.createElement('a');
    a.href = 'https://example.org/elsewhere';
    a.id = 'stray';
    a.textContent = 'stray';
    document.body.append(a);
  });
  await page.click('#stray');
  await page.waitForTimeout(100);
  assert.equal(page.url(), url);

  // The context menu of a link.
  await page.click('#messages a[href^="mailto:"]', { button: 'right' });
  await page.waitForSelector('#context-menu');
  assert.deepEqual(await page.$$eval('#context-menu > [role="menuitem"]', (i) => i.map((x) => x.textContent)), ['Open link', 'Copy link address', 'Reply', 'Copy text', 'Delete for me']);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.__parleyMock.callsOf('open_url').length === 4);
  assert.deepEqual((await callsOf(page, 'open_url')).at(-1), { url: 'mailto:carol@example.org' });
  await screenshot(page, 'conversation-links-light');
});

// --- unread ------------------------------------------------------------------------------

pageTest('the unread total is in the window title, and a divider marks where the new messages start', { session: 'online', history: 4 }, async (page) => {
  await openContact(page, 'carol');
  await page.waitForFunction(() => document.title === 'Parley');
  await mock(page, 'receive', 'bob', 'first news');
  await mock(page, 'receive', 'bob', 'second news');
  await page.waitForFunction(() => document.title === '(2) Parley');
  assert.deepEqual((await callsOf(page, 'set_unread')).at(-1), { count: 2 });

  await openContact(page, 'bob');
  await page.waitForSelector('#unread-divider');
  // Right above the first of the two, after the messages read before.
  const order = await page.$$eval('#messages .row', (rows) => rows.filter((r) => !r.classList.contains('day')).map((r) => (r.id === 'unread-divider' ? 'divider' : r.querySelector('.body')?.textContent)));
  assert.deepEqual(order.slice(-3), ['divider', 'first news', 'second news']);
  assert.equal(await page.getAttribute('#unread-divider', 'role'), 'separator');
  assert.equal(await page.getAttribute('#unread-divider', 'aria-label'), 'New messages');
  await page.waitForFunction(() => document.title === 'Parley');
  assert.deepEqual((await callsOf(page, 'set_unread')).at(-1), { count: 0 });
  // Read now, and more arriving while looking: it stays where it was.
  await mock(page, 'receive', 'bob', 'third news');
  await page.waitForFunction(() => document.querySelectorAll('#messages .message').length === 7);
  assert.equal(await page.isVisible('#unread-divider'), true);
  await screenshot(page, 'conversation-unread-light');
  // Left and opened again: gone.
  await openContact(page, 'carol');
  await openContact(page, 'bob');
  assert.equal(await page.$('#unread-divider'), null);
});

// --- a contact's profile -----------------------------------------------------------------

pageTest("the conversation's header opens the contact's profile", { session: 'online', init: recordHtmlParsing }, async (page) => {
  await page.waitForSelector('#main');
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
  await openContact(page, 'bob');
  assert.equal(await page.getAttribute('#conversation-profile', 'aria-haspopup'), 'dialog');
  await page.click('#conversation-profile');
  await page.waitForSelector('#contact-profile', { state: 'visible' });
  const shown = await page.$eval('#contact-profile', (d) => ({
    role: d.getAttribute('role'),
    name: d.querySelector('#contact-profile-name')?.textContent,
    username: d.querySelector('#contact-profile-username')?.textContent,
    presence: d.querySelector('#contact-profile-presence')?.textContent,
    status: d.querySelector('#contact-profile-status')?.textContent,
    bio: d.querySelector('#contact-profile-bio')?.textContent,
    elements: d.querySelectorAll('#contact-profile-bio *').length,
  }));
  assert.deepEqual(shown, {
    role: 'dialog',
    name: 'Bob',
    username: '@bob',
    presence: 'Online',
    status: 'Around',
    bio: 'Cellist.\nAsk me about <b>bold</b> bows: https://example.org/bows',
    elements: 0,
  });
  assert.equal(await focused(page), 'contact-profile-close');
  assert.equal(await page.getAttribute('#main .layout', 'inert'), '', 'the screen behind is inert');
  await screenshot(page, 'contact-profile-light');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#contact-profile', { state: 'hidden' });
  assert.equal(await focused(page), 'conversation-profile', 'back where it was');
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail', 'Escape closed only the profile');
  // The avatar opens it too; ✕ closes it.
  await page.click('.header-avatar');
  await page.waitForSelector('#contact-profile', { state: 'visible' });
  await page.click('#contact-profile-close');
  await page.waitForSelector('#contact-profile', { state: 'hidden' });
  // A profile that changes shows the change.
  await mock(page, 'updateUser', 'bob', { status: 'On holiday', bio: '' });
  await page.click('#conversation-profile');
  await page.waitForSelector('#contact-profile', { state: 'visible' });
  assert.equal(await page.textContent('#contact-profile-status'), 'On holiday');
  assert.match(await page.textContent('#contact-profile-bio'), /hasn’t written anything/);
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), []);
});

// --- rooms -------------------------------------------------------------------------------

pageTest('a room shows who is in it, with a way to message each of them', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await mock(page, 'updateUser', 'carol', { status: 'Reading' });
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#rooms [data-room="lobby"]');
  const open = '#rooms [data-room="lobby"] .room-open';
  assert.equal(await page.getAttribute(open, 'aria-expanded'), 'false');
  assert.equal(await page.isVisible('#rooms [data-room="lobby"] .members'), false);
  await page.click(open);
  assert.equal(await page.getAttribute(open, 'aria-expanded'), 'true');
  const members = await page.$$eval('#rooms [data-room="lobby"] .member', (ms) => ms.map((m) => [m.getAttribute('data-user-id'), m.querySelector('.name')?.textContent, m.querySelector('.member-status:not([hidden])')?.textContent ?? null, m.querySelector('button')?.getAttribute('aria-label') ?? null]));
  assert.deepEqual(members, [
    ['alice', 'Alice (you)', null, null],
    ['bob', 'Bob', 'Around', 'Message Bob'],
    ['carol', 'Carol', 'Reading', 'Message Carol'],
  ]);
  await screenshot(page, 'room-members-light');
  // Someone joins: listed at once.
  await mock(page, 'emit', { event: 'peer-joined', room: 'lobby', peer: { peer_id: 'peer-dave', user: { id: 'dave', username: 'dave', display_name: 'Dave', bio: '', status: '', avatar_url: null, created_at: 0 } } });
  await page.waitForSelector('#rooms [data-room="lobby"] .member[data-user-id="dave"]');
  assert.equal(await page.textContent('#rooms [data-room="lobby"] .count'), '4 online');
  // "Message" opens the conversation with them.
  await page.click('#rooms [data-room="lobby"] .member[data-user-id="carol"] button');
  await page.waitForSelector('#conversation[data-user-id="carol"]:not([hidden])');
  assert.equal(await page.textContent('#conversation-profile'), 'Carol');
  await page.click('#rooms [data-room="lobby"] .member[data-user-id="dave"] button');
  await page.waitForSelector('#conversation[data-user-id="dave"]:not([hidden])');
  assert.equal(await page.textContent('#conversation-profile'), 'Dave');
  assert.deepEqual((await callsOf(page, 'open_conversation')).at(-1), { userId: 'dave' });
});

// --- the composer's emoji ----------------------------------------------------------------

pageTest('the emoji picker puts an emoji at the caret, and is driven by the keyboard', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  const button = page.getByRole('button', { name: 'Emoji', exact: true });
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
  await page.fill('#composer', 'hello world');
  await page.evaluate(() => document.querySelector('#composer').setSelectionRange(5, 5));
  await button.click();
  await page.waitForSelector('#emoji-picker', { state: 'visible' });
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'grinning face', 'the first emoji has the focus');
  assert.ok((await page.$$eval('#emoji-picker button.emoji', (b) => b.length)) >= 120);
  assert.deepEqual(await page.$$eval('#emoji-picker h3', (h) => h.map((x) => x.textContent)).then((h) => h.slice(0, 2)), ['Smileys', 'People and gestures']);
  await screenshot(page, 'emoji-picker-light');
  // → then ↓: the next one, then the one below it.
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), '😃');
  await page.keyboard.press('ArrowDown');
  const below = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), '😃', 'up goes back above');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#emoji-picker', { state: 'hidden' });
  assert.equal(await page.inputValue('#composer'), `hello${below} world`, 'at the caret');
  assert.equal(await focused(page), 'composer');
  assert.equal(await page.evaluate(() => document.querySelector('#composer').selectionStart), 5 + below.length, 'the caret after it');
  // Escape closes it (and only it); so does a click outside.
  await button.click();
  await page.waitForSelector('#emoji-picker', { state: 'visible' });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#emoji-picker', { state: 'hidden' });
  assert.equal(await focused(page), 'composer');
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail');
  await button.click();
  await page.mouse.click(600, 200);
  await page.waitForSelector('#emoji-picker', { state: 'hidden' });
  // And it is sent as it is.
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-direction="outgoing"]');
  assert.deepEqual((await callsOf(page, 'send_message')).at(-1), { userId: 'bob', body: `hello${below} world` });
  const family = await page.evaluate(() => getComputedStyle(document.querySelector('#composer')).fontFamily);
  assert.match(family, /Noto Color Emoji/, 'a colour emoji font in the stack');
});

// --- ticks, the empty conversation, diagnostics ------------------------------------------

/** The WCAG contrast of two `rgb()` colours, in the page. @param {import('playwright-core').Page} page */
const tickContrasts = (page) =>
  page.$$eval('#messages .message[data-direction="outgoing"]', (rows) => {
    const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const lum = (c) => {
      const [r, g, b] = rgb(c).map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    return rows.map((row) => {
      const tick = row.querySelector('.tick');
      const bubble = row.querySelector('.bubble');
      return { state: row.getAttribute('data-state'), ratio: ratio(getComputedStyle(tick).color, getComputedStyle(bubble).backgroundColor) };
    });
  });

for (const theme of ['light', 'dark']) {
  pageTest(`delivery ticks are readable in the ${theme} theme (4.5:1), and an empty conversation says how to start`, { session: 'online', params: { theme } }, async (page) => {
    await openContact(page, 'bob');
    await page.waitForSelector('#conversation-empty', { state: 'visible' });
    assert.equal(await page.textContent('#conversation-empty'), 'No messages yet. Say hello to Bob \u2014 messages to someone offline are delivered when they come online.');
    await screenshot(page, `conversation-empty-${theme}`);
    for (const text of ['pending', 'sent', 'delivered', 'read']) {
      await page.fill('#composer', `a ${text} one`);
      await page.press('#composer', 'Enter');
      await page.waitForFunction((n) => document.querySelectorAll('#messages .message').length === n, ['pending', 'sent', 'delivered', 'read'].indexOf(text) + 1);
      const last = await page.$$eval('#messages .message', (ms) => ms.at(-1).getAttribute('data-id'));
      if (text !== 'pending') await mock(page, 'setState', last, text);
    }
    assert.equal(await page.isVisible('#conversation-empty'), false, 'gone with the first message');
    await page.waitForSelector('#messages .message[data-state="read"]');
    const ratios = await tickContrasts(page);
    assert.deepEqual(ratios.map((r) => r.state), ['pending', 'sent', 'delivered', 'read']);
    for (const r of ratios) assert.ok(r.ratio >= 4.5, `${r.state}: ${r.ratio.toFixed(2)}:1`);
    await screenshot(page, `conversation-ticks-${theme}`);
  });
}

pageTest('Settings: what the window supports is a folded diagnostic with the version, not errors', { session: 'online' }, async (page) => {
  await page.addInitScript(() => {
    // A webview without WebCodecs, like WebKitGTK.
    delete window.VideoEncoder;
  });
  await page.reload();
  await page.click('#nav-settings');
  await page.waitForSelector('#settings:not([hidden])');
  assert.equal(await page.isVisible('#settings-media'), false, 'folded away');
  const order = await page.$$eval('#settings > *', (es) => es.map((e) => e.id || e.tagName.toLowerCase()));
  assert.equal(order.at(-1), 'settings-diagnostics', 'at the bottom');
  await page.click('#settings-diagnostics summary');
  await page.waitForFunction(() => /0\.1\.0-mock/.test(document.querySelector('#settings-about')?.textContent ?? ''));
  const missing = '#settings-media [data-cap="web_codecs"]';
  assert.equal(await page.getAttribute(missing, 'data-available'), 'false');
  const colours = await page.evaluate((sel) => {
    const mark = document.querySelector(`${sel} .no`);
    const probe = document.createElement('p');
    probe.className = 'error';
    document.body.append(probe);
    const error = getComputedStyle(probe).color;
    probe.remove();
    return { mark: getComputedStyle(mark).color, error, text: mark.textContent };
  }, missing);
  assert.notEqual(colours.mark, colours.error, 'not in the colour of errors');
  assert.notEqual(colours.text, '\u2717', 'no red cross');
  await screenshot(page, 'settings-diagnostics-light');
});

// --- every new screen, light and dark, wide and narrow -----------------------------------

for (const theme of ['light', 'dark']) {
  for (const [size, viewport] of [['wide', { width: 1100, height: 760 }], ['phone', PHONE]]) {
    pageTest(`the new screens fit, ${theme}, ${size}`, { session: 'online', viewport, params: { theme } }, async (page) => {
      const fits = async (what) => assert.ok((await sidewaysOverflow(page)) <= 0, `${what}: no sideways scrolling`);
      const shot = (name) => screenshot(page, `${name}-${theme}-${size}`);
      await page.waitForSelector('#main');
      await page.fill('#room-name', 'lobby');
      await page.click('#room-join');
      await page.waitForSelector('#rooms [data-room="lobby"]');
      await page.click('#rooms [data-room="lobby"] .room-open');
      await page.waitForSelector('#rooms [data-room="lobby"] .member[data-user-id="carol"]');
      await fits('room members');
      await shot('room-members');
      await mock(page, 'receive', 'bob', 'Before');
      await mock(page, 'receive', 'bob', 'A link: https://example.org/some/long/path?with=query&and=more and mailto:bob@example.org');
      await page.click('#rooms [data-room="lobby"] .member[data-user-id="bob"] button');
      await page.waitForSelector('#conversation[data-user-id="bob"]:not([hidden])');
      await page.waitForSelector('#unread-divider');
      await page.fill('#composer', 'Hi 👋 https://example.org');
      await page.press('#composer', 'Enter');
      await page.click('#emoji-button');
      await page.waitForSelector('#emoji-picker', { state: 'visible' });
      await fits('emoji picker');
      const picker = await page.$eval('#emoji-picker', (p) => p.getBoundingClientRect().toJSON());
      assert.ok(picker.left >= 0 && picker.right <= viewport.width && picker.top >= 0, `the picker is on screen: ${JSON.stringify(picker)}`);
      await shot('conversation-emoji');
      await page.keyboard.press('Escape');
      await page.click('#conversation-profile');
      await page.waitForSelector('#contact-profile', { state: 'visible' });
      const dialog = await page.$eval('#contact-profile', (d) => d.getBoundingClientRect().toJSON());
      assert.ok(dialog.left >= 0 && dialog.right <= viewport.width, 'the profile is on screen');
      await shot('contact-profile');
      await page.keyboard.press('Escape');
      await page.click('#messages .message[data-direction="incoming"] .bubble >> nth=1', { button: 'right' });
      await page.waitForSelector('#context-menu');
      await shot('context-menu');
      await page.keyboard.press('Escape');
      await page.click('#nav-search');
      await page.fill('#search-input', 'example');
      await page.waitForSelector('#search-results [data-message-id]');
      await fits('search');
      await shot('search');
      await page.click('#nav-settings');
      await page.click('#settings-diagnostics summary');
      await page.waitForFunction(() => document.querySelector('#settings-about')?.textContent !== '');
      await page.$eval('#settings', (p) => p.scrollTo(0, p.scrollHeight));
      await fits('settings');
      await shot('settings');
    });
  }
}

pageTest('the sign-in screen in the dark: its radios', { session: 'none', params: { theme: 'dark' } }, async (page) => {
  await page.waitForSelector('#auth');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await screenshot(page, 'signin-dark');
  const app = await openApp({ session: 'none', viewport: { width: 960, height: 680 }, params: { theme: 'dark' } });
  try {
    await app.page.waitForSelector('#auth');
    await app.page.click('#tab-signup');
    await app.page.click('#signup-submit');
    await screenshot(app.page, 'signup-error-dark');
  } finally {
    await app.close();
  }
});
