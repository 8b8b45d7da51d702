// Browser tests of what a first real use found broken (issue 15): error text, search authors, the
// context menu and reloading, sign-up errors in a short window, room counts, the dark theme's
// radios, the theme's live preview and signing out, against the mock backend in Chromium.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openContact, pageTest, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };

/** Whether `#notice` shows, after the page had time to draw. @param {import('playwright-core').Page} page */
const noticeShown = async (page) => {
  await page.waitForTimeout(50);
  return page.isVisible('#notice');
};

// --- error text --------------------------------------------------------------------------

pageTest('a contact being offline is never an error, and connection errors go once things work again', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  // What the server says when a message is for someone offline: normal, the message waits.
  await mock(page, 'emit', { event: 'error', code: 'unknown_peer', message: 'no peer with that id is online' });
  assert.equal(await noticeShown(page), false, 'no notice for an offline contact');
  assert.doesNotMatch(await page.textContent('#main'), /no peer with that id/);

  await mock(page, 'emit', { event: 'error', code: 'server_unreachable', message: 'connection refused (os error 111)' });
  await page.waitForSelector('#notice:not([hidden])');
  const text = await page.textContent('#notice');
  assert.match(text, /^Can't reach the server\. Check/);
  assert.doesNotMatch(text, /os error/);
  await mock(page, 'goOffline');
  await mock(page, 'goOnline');
  await page.waitForSelector('#notice', { state: 'hidden' });

  // Again, and this time a message gets through: it no longer holds either.
  await mock(page, 'emit', { event: 'error', code: 'not_online', message: 'not online: go online first' });
  await page.waitForSelector('#notice:not([hidden])');
  await page.fill('#composer', 'are you there?');
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-state="pending"]');
  assert.equal(await page.isVisible('#notice'), true, 'still there while the message waits');
  const id = await page.getAttribute('#messages .message[data-direction="outgoing"]', 'data-id');
  await mock(page, 'setState', id, 'delivered');
  await page.waitForSelector('#notice', { state: 'hidden' });

  // Other errors stay until dismissed, in words (a sentence, never the core's lower case).
  await mock(page, 'emit', { event: 'error', code: 'brand_new', message: 'something odd happened' });
  await page.waitForSelector('#notice:not([hidden])');
  assert.equal(await page.textContent('#notice span'), 'Something odd happened.');
});

pageTest('a room name is checked as it is typed, in plain words that go once it is fine or empty', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main[data-connection="online"]');
  await page.fill('#room-name', 'team/ops');
  await page.waitForFunction(() => document.querySelector('#room-error')?.textContent !== '');
  const said = await page.textContent('#room-error');
  assert.equal(said, 'A room name can only have letters, digits, spaces and the signs _ . - #. Remove the other characters.');
  assert.doesNotMatch(said, /may contain|'_'/, 'not the server\u2019s wording');
  assert.equal(await page.getAttribute('#room-name', 'aria-invalid'), 'true');
  await page.click('#room-join');
  assert.equal((await callsOf(page, 'join_room')).length, 0, 'not sent');
  // Cleared: the error goes.
  await page.fill('#room-name', '');
  await page.waitForFunction(() => document.querySelector('#room-error')?.textContent === '');
  assert.equal(await page.isVisible('#room-error'), false);
  assert.equal(await page.getAttribute('#room-name', 'aria-invalid'), null);
  // Empty and submitted: what to do.
  await page.click('#room-join');
  assert.equal(await page.textContent('#room-error'), 'Enter a room name.');
  // Fixed: it goes as well.
  await page.fill('#room-name', 'team ops');
  await page.waitForFunction(() => document.querySelector('#room-error')?.textContent === '');
  // The server's own refusal, whatever gets past the check, is worded too.
  await mock(page, 'failNext', 'join_room', 'invalid_room', "room name may contain letters, digits, spaces, '_', '.', '-' and '#'");
  await page.click('#room-join');
  await page.waitForFunction(() => /^A room name can only have/.test(document.querySelector('#room-error')?.textContent ?? ''));
});

pageTest('a field check in Profile and Settings goes once the field is fixed', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-profile');
  await page.waitForSelector('#profile:not([hidden])');
  await page.fill('#profile-status', 'x'.repeat(101));
  await page.click('#profile-save');
  assert.equal(await page.textContent('#profile-message'), 'A status can have at most 100 characters.');
  await page.fill('#profile-status', 'x'.repeat(100));
  await page.waitForFunction(() => document.querySelector('#profile-message')?.textContent === '');
  assert.equal((await callsOf(page, 'update_profile')).length, 0);

  await page.click('#nav-settings');
  await page.waitForFunction(() => document.querySelector('#settings-theme-system')?.checked === true);
  await page.fill('#settings-download-dir', 'relative/path');
  await page.click('#settings-save');
  assert.match(await page.textContent('#settings-errors'), /full path/);
  await page.fill('#settings-download-dir', '/home/alice/Downloads');
  await page.waitForFunction(() => document.querySelector('#settings-errors')?.childElementCount === 0);
  // Emptied is fine too (the system's Downloads folder).
  await page.fill('#settings-download-dir', 'again/relative');
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-errors')?.childElementCount === 1);
  await page.fill('#settings-download-dir', '');
  await page.waitForFunction(() => document.querySelector('#settings-errors')?.childElementCount === 0);
  assert.equal((await callsOf(page, 'set_settings')).length, 0, 'nothing saved meanwhile');
});

// --- search ------------------------------------------------------------------------------

pageTest('search says who wrote each result: you, or the contact', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await page.fill('#composer', 'my needle of the day');
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-direction="outgoing"]');
  await mock(page, 'receive', 'bob', 'his needle, not mine');
  await page.waitForSelector('#messages .message[data-direction="incoming"]');
  await page.click('#nav-search');
  await page.fill('#search-input', 'needle');
  await page.waitForFunction(() => document.querySelectorAll('#search-results [data-message-id]').length === 2);
  const hits = await page.$$eval('#search-results .hit', (hs) => hs.map((h) => ({ sender: h.querySelector('.hit-sender')?.textContent, head: h.querySelector('.hit-title')?.textContent, text: h.querySelector('.snippet')?.textContent })));
  assert.deepEqual(hits, [
    { sender: 'Bob', head: 'Bob', text: 'his needle, not mine' },
    { sender: 'You', head: 'You to Bob', text: 'my needle of the day' },
  ]);
  assert.equal(await page.getAttribute('#search-results .hit >> nth=1', 'data-sender'), 'you');
  await screenshot(page, 'search-senders-light');
});

// --- the context menu and reloading ------------------------------------------------------

/** What the menu offers (null: no menu). @param {import('playwright-core').Page} page */
async function menuItems(page) {
  await page.waitForTimeout(50);
  if (!(await page.isVisible('#context-menu'))) return null;
  return page.$$eval('#context-menu > [role="menuitem"]', (items) => items.map((i) => `${i.textContent}${i.disabled ? ' (off)' : ''}`));
}

/** Right-clicks `selector` (the mouse) and returns what the menu offers. @param {import('playwright-core').Page} page */
async function menuAt(page, selector) {
  await page.click(selector, { button: 'right' });
  return menuItems(page);
}

/**
 * The `contextmenu` event a right-click at (`x`, `y`) sends to `selector`, without the mouse
 * moving the caret or the selection of a field first. @param {import('playwright-core').Page} page
 */
async function menuFor(page, selector, x = 0, y = 0) {
  await page.$eval(selector, (e, [x, y]) => e.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, composed: true, button: 2, clientX: x, clientY: y })), [x, y]);
  return menuItems(page);
}

pageTest("right-click shows the app's own menu, never the webview's", { session: 'online' }, async (page) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await openContact(page, 'carol');
  // Every contextmenu event is the app's: the webview's menu (Back, Forward, Reload) never shows.
  await page.evaluate(() => {
    window.__nativeMenus = 0;
    window.addEventListener('contextmenu', (e) => {
      if (!e.defaultPrevented) window.__nativeMenus += 1;
    });
  });
  assert.equal(await menuAt(page, '.conversation-header'), null, 'nothing to offer on the header: no menu at all');

  // A message: its actions (Carol's: no editing nor deleting for everyone), its text among them.
  const items = await menuAt(page, '#messages .message[data-direction="incoming"] .bubble');
  assert.deepEqual(items, ['Reply', 'Copy text', 'Delete for me']);
  assert.equal(await page.getAttribute('#context-menu', 'role'), 'menu');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#context-menu', { state: 'detached' });
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, /^Message \d/);

  // The composer: editing commands, keyboard driven.
  await page.fill('#composer', 'hello world');
  await page.evaluate(() => document.querySelector('#composer').setSelectionRange(6, 11));
  assert.deepEqual(await menuFor(page, '#composer'), ['Cut', 'Copy', 'Paste', 'Select all']);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cut', 'the first item has the focus');
  await screenshot(page, 'context-menu-composer-light');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Copy');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Select all', 'round from the top');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#context-menu', { state: 'detached' });
  assert.equal(await focused(page), 'composer', 'Escape goes back to the field');
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail', 'and the conversation stays');
  await menuFor(page, '#composer');
  await page.click('#context-menu [role="menuitem"]:text("Cut")');
  await page.waitForFunction(() => document.querySelector('#composer').value === 'hello ');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'world');
  await page.evaluate(() => document.querySelector('#composer').setSelectionRange(6, 6));
  assert.deepEqual(await menuFor(page, '#composer'), ['Cut (off)', 'Copy (off)', 'Paste', 'Select all']);
  await page.click('#context-menu [role="menuitem"]:text("Paste")');
  await page.waitForFunction(() => document.querySelector('#composer').value === 'hello world');
  assert.equal(await focused(page), 'composer');

  // Selected text elsewhere: Copy.
  await page.evaluate(() => {
    const body = document.querySelector('#messages .message .body');
    getSelection().selectAllChildren(body);
  });
  const selected = await page.evaluate(() => getSelection().toString());
  const onSelection = await menuAt(page, '#messages .message .body');
  assert.deepEqual(onSelection, ['Copy', 'Reply', 'Edit', 'Copy text', 'Delete for everyone', 'Delete for me']);
  await page.click('#context-menu [role="menuitem"]:text-is("Copy")');
  await page.waitForFunction((t) => navigator.clipboard.readText().then((c) => c === t), selected);
  // A click outside closes it.
  await menuFor(page, '#composer', 600, 500);
  await page.mouse.click(5, 400);
  await page.waitForSelector('#context-menu', { state: 'detached' });
  assert.equal(await page.evaluate(() => window.__nativeMenus), 0, 'the webview never got a context menu');
  assert.doesNotMatch(await page.evaluate(() => document.body.textContent), /Reload/);
});

pageTest('F5, Ctrl+R and Ctrl+Shift+R do not reload the window', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.evaluate(() => {
    window.__reloadKeys = [];
    window.addEventListener('keydown', (e) => window.__reloadKeys.push(`${e.key}:${e.defaultPrevented}`));
  });
  await page.keyboard.press('F5');
  await page.keyboard.press('Control+r');
  await page.keyboard.press('Control+Shift+R');
  await page.focus('#room-name');
  await page.keyboard.press('F5');
  const keys = await page.evaluate(() => window.__reloadKeys.filter((k) => !k.startsWith('Control') && !k.startsWith('Shift')));
  assert.deepEqual(keys, ['F5:true', 'r:true', 'R:true', 'F5:true']);
  // Typing an r is still typing.
  await page.keyboard.type('r');
  assert.equal(await page.inputValue('#room-name'), 'r');
});

pageTest('the sign-in screen has the same menu: editing commands, no copying of a password', { session: 'none' }, async (page) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.waitForSelector('#auth');
  await page.fill('#signin-password', 'secret');
  await page.evaluate(() => document.querySelector('#signin-password').select());
  assert.deepEqual(await menuFor(page, '#signin-password'), ['Cut (off)', 'Copy (off)', 'Paste', 'Select all']);
  await page.keyboard.press('Escape');
  assert.equal(await menuAt(page, '#auth h1'), null);
});

// --- sign-up, rooms, radios, theme, sign-out ---------------------------------------------

/** Whether the element is inside the viewport, top to bottom. @param {import('playwright-core').Page} page */
const inViewport = (page, selector) =>
  page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  });

pageTest('sign-up errors are in view in a 960×680 window, at the field they are about', { session: 'none', viewport: { width: 960, height: 680 } }, async (page) => {
  await page.waitForSelector('#auth');
  await page.click('#tab-signup');
  await page.fill('#signup-username', 'bob');
  await page.fill('#signup-email', 'bob2@example.org');
  await page.fill('#signup-password', 'long enough');
  await page.click('#signup-submit');
  await page.waitForFunction(() => /taken/.test(document.querySelector('#auth-error')?.textContent ?? ''));
  assert.equal(await inViewport(page, '#auth-error'), true, 'the error is in view');
  // Right above the button just pressed: wherever that is in view, so is the error.
  const [error, button] = await page.$$eval('#auth-error, #signup-submit', (es) => es.map((e) => e.getBoundingClientRect().toJSON()));
  assert.ok(error.bottom <= button.top && button.top - error.bottom < 24, `the error is just above the button: ${error.bottom} / ${button.top}`);
  assert.equal(await focused(page), 'signup-username', 'the field at fault has the focus');
  assert.equal(await page.getAttribute('#signup-username', 'aria-invalid'), 'true');
  await screenshot(page, 'signup-error-960x680-light');
  // Changing that field takes the error away.
  await page.fill('#signup-username', 'bobby');
  await page.waitForFunction(() => document.querySelector('#auth-error')?.textContent === '');
  assert.equal(await page.getAttribute('#signup-username', 'aria-invalid'), null);

  // The server's field check, in words.
  await page.fill('#signup-password', 'short');
  await page.click('#signup-submit');
  await page.waitForFunction(() => document.querySelector('#auth-error')?.textContent !== '');
  assert.equal(await page.textContent('#auth-error'), 'Choose a password of at least 8 characters.');
  assert.equal(await inViewport(page, '#auth-error'), true);
  assert.equal(await focused(page), 'signup-password');
  // A missing field.
  await page.fill('#signup-email', '');
  await page.fill('#signup-password', 'long enough');
  await page.click('#signup-submit');
  assert.equal(await page.textContent('#auth-error'), 'Enter your email.');
  assert.equal(await inViewport(page, '#auth-error'), true);
});

pageTest("a room's line and the directory count the same people the same way", { session: 'online' }, async (page) => {
  await page.waitForSelector('#room-directory [data-room="lobby"]', { state: 'attached' });
  await page.click('.directory summary');
  assert.equal(await page.textContent('#room-directory [data-room="lobby"] .count'), '2 online');
  await page.click('#room-directory [data-room="lobby"] button');
  await page.waitForSelector('#rooms [data-room="lobby"]');
  // Alice, Bob and Carol: three people in the room, in both places.
  await page.waitForFunction(() => document.querySelector('#room-directory [data-room="lobby"] .count')?.textContent === '3 online');
  assert.equal(await page.textContent('#rooms [data-room="lobby"] .count'), '3 online');
  // A room with nobody else.
  await mock(page, 'emit', { event: 'room-joined', room: 'quiet', peers: [] });
  await page.waitForSelector('#rooms [data-room="quiet"]');
  assert.equal(await page.textContent('#rooms [data-room="quiet"] .count'), 'only you');
});

pageTest("the dark theme's radios and checkboxes look checked only when they are", { session: 'online', params: { theme: 'dark' } }, async (page) => {
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await page.click('#nav-settings');
  await page.waitForFunction(() => document.querySelector('#settings-theme-dark')?.checked === true);
  const look = (selector) =>
    page.$eval(selector, (e) => {
      const s = getComputedStyle(e);
      return { background: `${s.backgroundColor} ${s.backgroundImage}`, border: s.borderColor, appearance: s.appearance };
    });
  const checked = await look('#settings-theme-dark');
  const unchecked = await look('#settings-theme-light');
  assert.equal(unchecked.appearance, 'none', 'drawn by the app, not by the webview');
  assert.notDeepEqual(unchecked, checked, 'checked and unchecked look different');
  const surface = await page.evaluate(() => getComputedStyle(document.querySelector('#settings')).getPropertyValue('--surface').trim());
  assert.match(unchecked.background, /^rgb\(30, 35, 48\) none$/, `an unchecked radio is empty (the surface, ${surface})`);
  assert.match(checked.background, /radial-gradient/);
  await page.click('#settings-diagnostics summary');
  await screenshot(page, 'settings-dark');
});

pageTest('a theme chosen in Settings shows at once, and goes back when Settings is left unsaved', { session: 'online', params: { theme: 'light' } }, async (page) => {
  const theme = () => page.getAttribute('html', 'data-theme');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await page.click('#nav-settings');
  await page.waitForFunction(() => document.querySelector('#settings-theme-light')?.checked === true);
  await page.check('#settings-theme-dark');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  assert.equal((await callsOf(page, 'set_settings')).length, 0, 'not saved');
  // Arrow keys in the group preview too.
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.isChecked('#settings-theme-system'), true);
  await page.keyboard.press('ArrowUp');
  assert.equal(await theme(), 'dark');
  // Left without saving: the saved theme again.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#settings', { state: 'hidden' });
  assert.equal(await theme(), 'light');
  await page.click('#nav-settings');
  await page.waitForFunction(() => document.querySelector('#settings-theme-light')?.checked === true, null, { timeout: 2000 });
  // Chosen and saved: it stays.
  await page.check('#settings-theme-dark');
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  await page.click('#nav-chats');
  assert.equal(await theme(), 'dark');
  assert.equal((await callsOf(page, 'set_settings')).at(-1).settings.theme, 'dark');
});

pageTest('Sign out never signs out without the confirming step: a click, a double click, a held Enter', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#sign-out');
  await page.waitForSelector('#sign-out-dialog', { state: 'visible' });
  assert.deepEqual(await callsOf(page, 'sign_out'), []);
  await page.keyboard.press('Escape');
  await page.dblclick('#sign-out');
  await page.waitForTimeout(100);
  assert.deepEqual(await callsOf(page, 'sign_out'), [], 'a double click does not confirm');
  if (await page.isVisible('#sign-out-dialog')) await page.keyboard.press('Escape');
  await page.waitForSelector('#sign-out-dialog', { state: 'hidden' });
  // Enter held down on "Sign out": the repeats do not press the dialog's button.
  await page.focus('#sign-out');
  await page.keyboard.down('Enter');
  await page.waitForSelector('#sign-out-dialog', { state: 'visible' });
  await page.keyboard.down('Enter');
  await page.keyboard.down('Enter');
  await page.keyboard.up('Enter');
  await page.waitForTimeout(100);
  assert.deepEqual(await callsOf(page, 'sign_out'), [], 'a held key does not confirm');
  assert.equal(await page.getAttribute('#main', 'data-connection'), 'online');
  // A deliberate press does.
  await page.keyboard.press('Enter');
  await page.waitForSelector('#auth');
  assert.deepEqual(await callsOf(page, 'sign_out'), [{ keepHistory: true }]);
});

pageTest('phone width: the room directory, a room open and the context menu fit', { session: 'online', viewport: PHONE }, async (page) => {
  await page.waitForSelector('#room-directory [data-room="lobby"]', { state: 'attached' });
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#rooms [data-room="lobby"]');
  await page.click('#rooms [data-room="lobby"] .room-open');
  await page.click('.directory summary');
  await page.fill('#room-name', 'a/b');
  await page.waitForFunction(() => document.querySelector('#room-error')?.textContent !== '');
  assert.ok((await sidewaysOverflow(page)) <= 0, 'no sideways scrolling');
  await screenshot(page, 'sidebar-rooms-phone-light');
  await menuFor(page, '#room-name', 350, 150);
  const menu = await page.$eval('#context-menu', (m) => m.getBoundingClientRect().toJSON());
  assert.ok(menu.right <= PHONE.width && menu.left >= 0, `the menu is on screen: ${JSON.stringify(menu)}`);
  await screenshot(page, 'context-menu-phone-light');
});
