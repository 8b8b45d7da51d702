// Browser tests of the message actions (reply, edit, delete for everyone or for me, reactions,
// copy) from the context menu, the "Message actions" button and the keyboard; and of what the
// first real use broke besides: rooms that vanished while offline, avatars that never came after a
// restart, notifications that did not open their conversation, the download folder's picker.
// With screenshots of each state, light and dark, wide and 360 px.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openContact, pageTest, recordHtmlParsing, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const HOUR = 3600 * 1000;

/** The row of the message whose text is exactly `text`. */
const row = (text) => `#messages .message:has(.body:text-is("${text}"))`;
/** The id of that message. @param {import('playwright-core').Page} page */
const idOf = (page, text) => page.getAttribute(row(text), 'data-id');

/** The menu's items (not its row of reactions), as shown. @param {import('playwright-core').Page} page */
const menuItems = (page) => page.$$eval('#context-menu > [role="menuitem"]', (items) => items.map((i) => i.textContent));
/** The menu's row of reactions: each one's accessible name and whether it is yours. @param {import('playwright-core').Page} page */
const reactionItems = (page) => page.$$eval('#context-menu .menu-row button', (items) => items.map((i) => `${i.textContent} ${i.getAttribute('aria-label')}${i.getAttribute('aria-checked') === 'true' ? ' (yours)' : ''}`));

/** Opens the context menu of a message by right-clicking its bubble. @param {import('playwright-core').Page} page */
async function rightClick(page, text) {
  await page.click(`${row(text)} .bubble`, { button: 'right' });
  await page.waitForSelector('#context-menu');
}

/** Opens a message's actions with its own button (shown on hover). @param {import('playwright-core').Page} page */
async function actionsButton(page, text) {
  await page.hover(`${row(text)} .bubble`);
  await page.click(`${row(text)} .message-actions`);
  await page.waitForSelector('#context-menu');
}

/** Picks an item of the open menu by its text. @param {import('playwright-core').Page} page */
async function pick(page, label) {
  await page.click(`#context-menu > [role="menuitem"]:text-is("${label}")`);
  await page.waitForSelector('#context-menu', { state: 'detached' });
}

/** Waits until the reaction chips of a message say `expected` (their texts, joined by commas). @param {import('playwright-core').Page} page */
async function waitChips(page, text, expected) {
  const id = await idOf(page, text);
  await page.waitForFunction(
    ([id, expected]) => [...document.querySelectorAll(`#messages .message[data-id="${id}"] .reaction`)].map((c) => c.textContent).join(',') === expected,
    [id, expected],
  );
}

/** What the reaction chips of a message say: text, accessible name, yours or not. @param {import('playwright-core').Page} page */
const chips = (page, text) =>
  page.$$eval(`${row(text)} .reaction`, (cs) => cs.map((c) => `${c.textContent} | ${c.getAttribute('aria-label')}${c.getAttribute('aria-pressed') === 'true' ? ' | yours' : ''}`));

// History of 6 with Bob: Message 0 (yours, long), 1, 2 (Bob's), Message 3 (yours), 4, 5 (Bob's).

pageTest('a message offers what fits it, from a right-click and from its own "Message actions" button', { session: 'online', history: 6 }, async (page) => {
  await page.waitForSelector('#main');
  // Message 0 is yours but older than a day by now: no editing, no deleting for everyone.
  const old = await mock(page, 'messageWithBody', 'Message 0.', 'bob');
  await mock(page, 'age', old.id, 25 * HOUR);
  await openContact(page, 'bob');

  await rightClick(page, 'Message 3');
  assert.deepEqual(await menuItems(page), ['Reply', 'Edit', 'Copy text', 'Delete for everyone', 'Delete for me']);
  assert.deepEqual(await reactionItems(page), [
    '👍 React with thumbs up',
    '❤️ React with red heart',
    '😂 React with face with tears of joy',
    '😮 React with face with open mouth',
    '😢 React with crying face',
    '🙏 React with folded hands',
    '+ More reactions',
  ]);
  assert.equal(await page.getAttribute('#context-menu .menu-row', 'role'), 'group');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Reply', 'the first item has the focus, not a reaction');
  await page.keyboard.press('Escape');

  await rightClick(page, 'Message 4');
  assert.deepEqual(await menuItems(page), ['Reply', 'Copy text', 'Delete for me'], "Bob's message: not yours to edit");
  await page.keyboard.press('Escape');

  await page.click(`#messages .message[data-id="${old.id}"] .bubble`, { button: 'right' });
  assert.deepEqual(await menuItems(page), ['Reply', 'Copy text', 'Delete for me'], 'past the 24 hours');
  await page.keyboard.press('Escape');

  // The button: named, out of sight until the message is hovered or focused.
  const button = `${row('Message 4')} .message-actions`;
  assert.equal(await page.getAttribute(button, 'aria-label'), 'Message actions');
  assert.equal(await page.getAttribute(button, 'aria-haspopup'), 'menu');
  await page.mouse.move(5, 5);
  assert.equal(await page.$eval(button, (b) => getComputedStyle(b).opacity), '0');
  await page.hover(`${row('Message 4')} .bubble`);
  await page.waitForFunction((id) => getComputedStyle(document.querySelector(`#messages .message[data-id="${id}"] .message-actions`)).opacity === '1', await idOf(page, 'Message 4'));
  await actionsButton(page, 'Message 4');
  assert.deepEqual(await menuItems(page), ['Reply', 'Copy text', 'Delete for me']);
  // Escape: the focus is back on the button.
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Message actions');
});

pageTest('messages are reached with the keyboard: one Tab stop, ↑ ↓ between them, Enter or the button for the actions', { session: 'online', history: 6 }, async (page) => {
  await openContact(page, 'bob');
  await page.focus('#messages');
  await page.keyboard.press('Tab');
  // The newest message in view is the one in the Tab order.
  const first = await page.evaluate(() => ({ row: document.activeElement?.matches('.row.message'), text: document.activeElement?.querySelector('.body')?.textContent }));
  assert.deepEqual(first, { row: true, text: 'Message 5' });
  assert.equal(await page.$$eval('#messages .row.message[tabindex="0"]', (r) => r.length), 1, 'one stop for Tab');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement?.querySelector('.body')?.textContent), 'Message 3');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.querySelector('.body')?.textContent), 'Message 4');
  // Enter: the actions; Escape: back on the message.
  await page.keyboard.press('Enter');
  await page.waitForSelector('#context-menu');
  assert.deepEqual(await menuItems(page), ['Reply', 'Copy text', 'Delete for me']);
  await page.keyboard.press('Escape');
  // Tab from the message: its button, shown while focused.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Message actions');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('.row')?.querySelector('.body')?.textContent), 'Message 4');
  assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).opacity), '1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#context-menu');
  // ↑ from the first item goes to the reactions, ← → along them.
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'React with thumbs up');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'React with red heart');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${row('Message 4')} .reaction[data-emoji="❤️"]`);
  assert.deepEqual(await chips(page, 'Message 4'), ['❤️ 1 | ❤️ by You | yours']);
  // The menu key (Shift+F10) on a message opens its menu too.
  await page.focus(row('Message 3'));
  await page.keyboard.press('Shift+F10');
  await page.waitForSelector('#context-menu');
  assert.deepEqual(await menuItems(page), ['Reply', 'Edit', 'Copy text', 'Delete for everyone', 'Delete for me']);
  await pick(page, 'Copy text');
});

pageTest('reply: a quote bar over the composer, the quote in the message, and a click on it shows the original', { session: 'online', history: 6, init: recordHtmlParsing }, async (page) => {
  await openContact(page, 'bob');
  const quoted = await idOf(page, 'Message 4');

  await rightClick(page, 'Message 4');
  await pick(page, 'Reply');
  assert.equal(await page.isVisible('#composer-bar'), true);
  assert.equal(await page.getAttribute('#composer-bar', 'data-mode'), 'reply');
  assert.equal(await page.textContent('#composer-bar-text'), 'Replying to Bob: Message 4');
  assert.equal(await focused(page), 'composer');
  // Escape ends the reply only (the conversation stays open).
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('#composer-bar'), false);
  assert.equal(await page.isVisible('#conversation'), true);
  // ✕ too.
  await actionsButton(page, 'Message 4');
  await pick(page, 'Reply');
  assert.equal(await page.getAttribute('#composer-bar-cancel', 'aria-label'), 'Cancel the reply');
  await page.click('#composer-bar-cancel');
  assert.equal(await page.isVisible('#composer-bar'), false);
  assert.equal(await focused(page), 'composer');

  await actionsButton(page, 'Message 4');
  await pick(page, 'Reply');
  await page.fill('#composer', 'Agreed');
  await page.keyboard.press('Enter');
  await page.waitForSelector(row('Agreed'));
  assert.deepEqual((await callsOf(page, 'send_message')).at(-1), { userId: 'bob', body: 'Agreed', replyTo: quoted });
  assert.equal(await page.isVisible('#composer-bar'), false);
  assert.equal(await page.textContent(`${row('Agreed')} .quote .quote-author`), 'Bob');
  assert.equal(await page.textContent(`${row('Agreed')} .quote .quote-text`), 'Message 4');
  await screenshot(page, 'message-reply-light');

  // The quote shows the original, highlighted.
  await page.click(`${row('Agreed')} .quote`);
  await page.waitForSelector(`#messages .message.highlight[data-id="${quoted}"]`);
  // The next message sent is no reply.
  await page.fill('#composer', 'And another thing');
  await page.keyboard.press('Enter');
  await page.waitForSelector(row('And another thing'));
  assert.deepEqual((await callsOf(page, 'send_message')).at(-1), { userId: 'bob', body: 'And another thing' });
  assert.equal(await page.$(`${row('And another thing')} .quote`), null);

  // Bob answers one of yours; then deletes what you answered.
  const mine = await idOf(page, 'Message 3');
  await mock(page, 'receive', 'bob', 'Yes, <b>that</b> one', mine);
  await page.waitForSelector(row('Yes, <b>that</b> one'));
  assert.equal(await page.textContent(`${row('Yes, <b>that</b> one')} .quote-author`), 'You');
  await mock(page, 'peerDelete', quoted);
  await page.waitForSelector(`${row('Agreed')} .quote-text:text-is("Deleted message")`);
  // A reply to something this device never had.
  await mock(page, 'receive', 'bob', 'about the old days', 'never-here');
  await page.waitForSelector(`${row('about the old days')} .quote.missing`);
  assert.equal(await page.textContent(`${row('about the old days')} .quote`), 'Original message not available');
  assert.equal(await page.$eval(`${row('about the old days')} .quote`, (q) => q.tagName), 'DIV', 'nothing to click');
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), []);
});

pageTest("a reply's quote leads to a message that is not loaded: the pages around it, highlighted", { session: 'online', history: 150 }, async (page) => {
  await page.waitForSelector('#main');
  const oldest = await mock(page, 'messageWithBody', 'Message 1', 'bob');
  await openContact(page, 'bob');
  assert.equal(await page.$(`#messages .message[data-id="${oldest.id}"]`), null, 'not loaded');
  await mock(page, 'receive', 'bob', 'Remember the first one?', oldest.id);
  await page.waitForSelector(row('Remember the first one?'));
  await page.click(`${row('Remember the first one?')} .quote`);
  await page.waitForSelector(`#messages .message.highlight[data-id="${oldest.id}"]`);
  assert.deepEqual((await callsOf(page, 'message_cursor'))[0], { messageId: oldest.id });
  assert.equal(await page.isVisible('#jump-latest'), true, 'the newest are not loaded now');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-id')), oldest.id);
  // A quoted message gone from this device since: said in plain words.
  await page.click('#jump-latest');
  await page.waitForSelector(row('Remember the first one?'));
  await page.evaluate(() => window.__parleyMock.failNext('message_cursor', 'unknown_message', 'no such message'));
  await page.click(`${row('Remember the first one?')} .quote`);
  await page.waitForFunction(() => document.querySelector('#composer-error')?.textContent === "That message isn't on this device any more.");
});

pageTest('edit: the composer holds the message, Enter saves it, it shows "edited"; ↑ edits your last one; the draft comes back', { session: 'online', history: 6 }, async (page) => {
  await openContact(page, 'bob');
  const id = await idOf(page, 'Message 3');
  // ↑ in the empty composer: your last message that can be edited.
  await page.focus('#composer');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.getAttribute('#composer-bar', 'data-mode'), 'edit');
  assert.match(await page.textContent('#composer-bar-text'), /^Editing message/);
  assert.equal(await page.inputValue('#composer'), 'Message 3');
  assert.equal(await page.textContent('#send'), 'Save');
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('#composer-bar'), false);
  assert.equal(await page.inputValue('#composer'), '');
  assert.equal(await page.textContent('#send'), 'Send');

  // From the menu, with a draft in the composer: the draft comes back after saving.
  await page.fill('#composer', 'half a thought');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.isVisible('#composer-bar'), false, 'not while there is text');
  await rightClick(page, 'Message 3');
  await pick(page, 'Edit');
  assert.equal(await page.inputValue('#composer'), 'Message 3');
  assert.equal(await focused(page), 'composer');
  await page.fill('#composer', 'Message 3, corrected');
  await page.keyboard.press('Enter');
  await page.waitForSelector(row('Message 3, corrected'));
  assert.deepEqual((await callsOf(page, 'edit_message')).at(-1), { conversationId: 'bob', id, body: 'Message 3, corrected' });
  assert.equal(await page.textContent(`${row('Message 3, corrected')} .edited`), 'edited');
  assert.match(await page.getAttribute(`${row('Message 3, corrected')} .edited`, 'title'), /^Edited Today \d/);
  assert.equal(await page.inputValue('#composer'), 'half a thought');
  assert.equal(await page.isVisible('#composer-bar'), false);
  assert.deepEqual(await callsOf(page, 'send_message'), [], 'nothing was sent');

  // A refusal in plain words; the edit stays to try again or cancel.
  await page.fill('#composer', '');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.inputValue('#composer'), 'Message 3, corrected');
  await page.evaluate(() => window.__parleyMock.failNext('edit_message', 'edit_window_passed', 'too late'));
  await page.fill('#composer', 'too late now');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /more than 24 hours old/.test(document.querySelector('#composer-error')?.textContent ?? ''));
  assert.equal(await page.getAttribute('#composer-bar', 'data-mode'), 'edit');
  await screenshot(page, 'message-editing-light');
  await page.click('#composer-bar-cancel');
  assert.equal(await page.inputValue('#composer'), '');

  // Bob's edits show too.
  const his = await idOf(page, 'Message 4');
  await mock(page, 'peerEdit', his, 'Message 4 (fixed a typo)');
  await page.waitForSelector(`${row('Message 4 (fixed a typo)')} .edited`);
});

pageTest('delete for everyone asks first and leaves a placeholder; delete for me asks and removes it', { session: 'online', history: 6 }, async (page) => {
  await openContact(page, 'bob');
  const id = await idOf(page, 'Message 3');
  await mock(page, 'peerReact', id, '👍');
  await page.waitForSelector(`${row('Message 3')} .reaction`);

  await rightClick(page, 'Message 3');
  await pick(page, 'Delete for everyone');
  await page.waitForSelector('#confirm-dialog', { state: 'visible' });
  assert.equal(await page.getAttribute('#confirm-dialog', 'role'), 'alertdialog');
  assert.equal(await page.getAttribute('#confirm-dialog', 'aria-modal'), 'true');
  assert.equal(await page.textContent('#confirm-title'), 'Delete this message for everyone?');
  assert.equal(await page.textContent('#confirm-ok'), 'Delete for everyone');
  assert.equal(await focused(page), 'confirm-cancel', 'the safe answer has the focus');
  assert.equal(await page.getAttribute('#main .layout', 'inert'), '');
  await screenshot(page, 'message-delete-confirm-light');
  // Escape: nothing happens, and the dialog only closes.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  assert.deepEqual(await callsOf(page, 'delete_message'), []);
  assert.equal(await page.isVisible('#conversation'), true);

  await rightClick(page, 'Message 3');
  await pick(page, 'Delete for everyone');
  await page.click('#confirm-ok');
  await page.waitForSelector(`#messages .message[data-id="${id}"][data-deleted="true"]`);
  assert.deepEqual(await callsOf(page, 'delete_message'), [{ conversationId: 'bob', id, forEveryone: true }]);
  assert.equal(await page.textContent(`#messages .message[data-id="${id}"] .body`), 'You deleted this message');
  assert.equal(await page.$$eval(`#messages .message[data-id="${id}"] .reaction`, (r) => r.length), 0, 'no reactions left');
  // A deleted message only offers "Delete for me".
  await page.click(`#messages .message[data-id="${id}"] .bubble`, { button: 'right' });
  assert.deepEqual(await menuItems(page), ['Delete for me']);
  assert.equal(await page.$('#context-menu .menu-row'), null, 'no reacting to it');
  await page.keyboard.press('Escape');

  // Bob deletes one of his.
  const his = await idOf(page, 'Message 4');
  await mock(page, 'peerDelete', his);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'This message was deleted', `#messages .message[data-id="${his}"] .body`);
  await screenshot(page, 'message-deleted-light');

  // Delete for me: asked too, then gone from view (and from the contact's preview).
  const last = await idOf(page, 'Message 5');
  assert.equal(await page.textContent('#contacts [data-user-id="bob"] .preview'), 'Message 5');
  await rightClick(page, 'Message 5');
  await pick(page, 'Delete for me');
  assert.equal(await page.textContent('#confirm-title'), 'Delete this message for you?');
  await page.click('#confirm-ok');
  await page.waitForSelector(`#messages .message[data-id="${last}"]`, { state: 'detached' });
  assert.deepEqual((await callsOf(page, 'delete_message')).at(-1), { conversationId: 'bob', id: last, forEveryone: false });
  await page.waitForFunction(() => document.querySelector('#contacts [data-user-id="bob"] .preview')?.textContent === 'A message was deleted');
  // The focus went on to a message beside it.
  assert.equal(await page.evaluate(() => document.activeElement?.matches('.row.message')), true);

  // A refusal in plain words.
  await page.evaluate(() => window.__parleyMock.failNext('delete_message', 'not_your_message', 'no'));
  await rightClick(page, 'Message 2');
  await pick(page, 'Delete for me');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => document.querySelector('#composer-error')?.textContent === 'You can only edit or delete your own messages.');
  assert.equal(await page.isVisible(row('Message 2')), true);
});

pageTest('reactions: chips with a count and who, yours highlighted; choosing yours again takes it back', { session: 'online', history: 6 }, async (page) => {
  await openContact(page, 'bob');
  const id = await idOf(page, 'Message 4');
  await rightClick(page, 'Message 4');
  await page.click('#context-menu [aria-label="React with thumbs up"]');
  await page.waitForSelector(`${row('Message 4')} .reaction`);
  assert.deepEqual((await callsOf(page, 'react')).at(-1), { conversationId: 'bob', id, emoji: '👍' });
  assert.deepEqual(await chips(page, 'Message 4'), ['👍 1 | 👍 by You | yours']);
  assert.equal(await page.getAttribute(`${row('Message 4')} .reactions`, 'aria-label'), 'Reactions');

  await mock(page, 'peerReact', id, '👍');
  await waitChips(page, 'Message 4', '👍 2');
  assert.deepEqual(await chips(page, 'Message 4'), ['👍 2 | 👍 by You and Bob | yours']);

  // The menu marks yours; choosing it again takes it back.
  await rightClick(page, 'Message 4');
  assert.equal(await page.getAttribute('#context-menu .menu-row button:first-child', 'aria-checked'), 'true');
  await page.click('#context-menu [aria-label="Remove your thumbs up reaction"]');
  await waitChips(page, 'Message 4', '👍 1');
  assert.deepEqual((await callsOf(page, 'react')).at(-1), { conversationId: 'bob', id, emoji: null });
  assert.deepEqual(await chips(page, 'Message 4'), ['👍 1 | 👍 by Bob']);

  // A chip toggles yours with its emoji.
  await page.click(`${row('Message 4')} .reaction[data-emoji="👍"]`);
  await page.waitForSelector(`${row('Message 4')} .reaction[aria-pressed="true"]`);
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('reaction')), true, 'the chip keeps the focus');
  await page.click(`${row('Message 4')} .reaction[data-emoji="👍"]`);
  await page.waitForSelector(`${row('Message 4')} .reaction[aria-pressed="false"]`);

  // More reactions: the emoji picker; yours replaces your earlier one.
  await rightClick(page, 'Message 4');
  await page.click('#context-menu [aria-label="More reactions"]');
  await page.waitForSelector('#reaction-picker', { state: 'visible' });
  assert.equal(await page.getAttribute('#reaction-picker', 'role'), 'dialog');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('#reaction-picker') !== null), true);
  await screenshot(page, 'message-reaction-picker-light');
  await page.click('#reaction-picker button.emoji[data-emoji="🎉"]');
  await page.waitForSelector('#reaction-picker', { state: 'hidden' });
  await page.waitForSelector(`${row('Message 4')} .reaction[data-emoji="🎉"]`);
  assert.deepEqual(await chips(page, 'Message 4'), ['👍 1 | 👍 by Bob', '🎉 1 | 🎉 by You | yours']);
  // Escape closes the picker only.
  await rightClick(page, 'Message 4');
  await page.click('#context-menu [aria-label="More reactions"]');
  await page.waitForSelector('#reaction-picker', { state: 'visible' });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#reaction-picker', { state: 'hidden' });
  assert.equal(await page.isVisible('#conversation'), true);

  // A refusal in plain words.
  await page.evaluate(() => window.__parleyMock.failNext('react', 'invalid_reaction', 'not an emoji'));
  await page.click(`${row('Message 4')} .reaction[data-emoji="👍"]`);
  await page.waitForFunction(() => document.querySelector('#composer-error')?.textContent === "That reaction isn't an emoji. Choose one from the list.");
});

pageTest('peer text in quotes, bodies and reactions stays text', { session: 'online', history: 3, init: recordHtmlParsing }, async (page) => {
  await openContact(page, 'bob');
  const bait = '<img src=x onerror="window.__pwned=1">';
  const m = await mock(page, 'receive', 'bob', `look ${bait}`);
  const reply = await mock(page, 'receive', 'bob', `re: ${bait}`, m.id);
  await mock(page, 'peerReact', m.id, bait);
  const byId = (id) => `#messages .message[data-id="${id}"]`;
  await page.waitForSelector(`${byId(m.id)} .reaction`);
  assert.equal(await page.textContent(`${byId(m.id)} .body`), `look ${bait}`);
  assert.equal(await page.textContent(`${byId(reply.id)} .quote-text`), `look ${bait}`);
  assert.equal(await page.textContent(`${byId(m.id)} .reaction-emoji`), bait);
  assert.equal(await page.$$eval('#messages img', (i) => i.length), 0);
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), []);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

// --- rooms while offline ---------------------------------------------------------------

pageTest('offline, the rooms stay listed with nobody in them, and fill again once back online', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#rooms [data-room="lobby"]');
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
  assert.equal(await page.textContent('#rooms [data-room="lobby"] .count'), '3 online');

  await mock(page, 'goOffline');
  await page.waitForSelector('#offline-banner', { state: 'visible' });
  assert.equal(await page.isVisible('#rooms [data-room="lobby"]'), true, 'the room is still there');
  assert.equal(await page.textContent('#rooms [data-room="lobby"] .count'), 'offline');
  assert.equal(await page.getAttribute('#contacts [data-user-id="bob"]', 'data-online'), 'false');
  await page.click('#rooms [data-room="lobby"] .room-open');
  assert.deepEqual(await page.$$eval('#rooms [data-room="lobby"] .member', (m) => m.map((x) => x.dataset.userId)), ['alice'], 'only you while offline');

  await mock(page, 'goOnline');
  await page.waitForFunction(() => document.querySelector('#rooms [data-room="lobby"] .count')?.textContent === '3 online');
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
});

// --- avatars ----------------------------------------------------------------------------

pageTest('an avatar that could not be had before the session was up shows once online', { session: 'offline', params: { avatars: 'late' } }, async (page) => {
  await page.waitForSelector('#main[data-connection="offline"]');
  await page.waitForSelector('#contacts [data-user-id="bob"] .avatar');
  // Asked for and refused while offline: the initials meanwhile.
  await page.waitForFunction(() => window.__parleyMock.callsOf('avatar').length >= 2);
  assert.equal(await page.textContent('#me .avatar'), 'A');
  assert.equal(await page.$('#me .avatar img'), null);

  await mock(page, 'goOnline');
  await page.waitForSelector('#me .avatar img');
  await page.waitForSelector('#contacts [data-user-id="bob"] .avatar img');
  assert.match(await page.getAttribute('#me .avatar img', 'src'), /^blob:/);
});

// --- notifications ----------------------------------------------------------------------

pageTest('a click on a desktop notification opens its conversation', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings', { state: 'visible' });
  await mock(page, 'notificationClicked', 'carol');
  await page.waitForSelector('#conversation[data-user-id="carol"]:not([hidden])');
  assert.equal(await page.getAttribute('#main', 'data-panel'), 'chats');
  await page.waitForSelector(row('Message 2'));
});

pageTest('narrow: a clicked notification shows the conversation, not the list', { session: 'online', viewport: PHONE }, async (page) => {
  await page.waitForSelector('#main');
  await mock(page, 'notificationClicked', 'carol');
  await page.waitForSelector('#conversation[data-user-id="carol"]:not([hidden])');
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail');
});

// --- the download folder ----------------------------------------------------------------

pageTest("Settings: the download folder is chosen with the system's folder picker", { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-download-choose');
  assert.equal(await page.getAttribute('#settings-download-dir', 'placeholder'), 'Downloads/Parley');
  assert.equal(await page.textContent('#settings-download-choose'), 'Choose…');
  await page.click('#settings-download-choose');
  await page.waitForFunction(() => document.querySelector('#settings-download-dir')?.value === '/home/alice/Parley files');
  assert.deepEqual(await callsOf(page, 'pick_folder'), [{}]);
  // Cancelled: the field stays as it is; the picker opened at the folder in it.
  await mock(page, 'setPickedFolder', null);
  await page.click('#settings-download-choose');
  await page.waitForFunction(() => window.__parleyMock.callsOf('pick_folder').length === 2);
  assert.deepEqual((await callsOf(page, 'pick_folder'))[1], { current: '/home/alice/Parley files' });
  assert.equal(await page.inputValue('#settings-download-dir'), '/home/alice/Parley files');
  await page.click('#settings-save');
  await page.waitForSelector('#settings-message:text("Settings saved.")');
  assert.equal((await callsOf(page, 'set_settings')).at(-1).settings.download_dir, '/home/alice/Parley files');
  await screenshot(page, 'settings-download-folder-light');
  // Narrow: the field and its button share the line.
  await page.setViewportSize(PHONE);
  await page.$eval('#settings-download-dir', (f) => f.scrollIntoView({ block: 'center' }));
  const field = await page.$eval('#settings-download-dir', (f) => f.getBoundingClientRect().toJSON());
  const choose = await page.$eval('#settings-download-choose', (b) => b.getBoundingClientRect().toJSON());
  assert.ok(Math.abs(field.top - choose.top) < 8 && choose.right <= PHONE.width, 'side by side, in the window');
  assert.ok((await sidewaysOverflow(page)) <= 0);
  await screenshot(page, 'settings-download-folder-360');
});

// --- how it looks -----------------------------------------------------------------------

for (const theme of ['light', 'dark']) {
  for (const [size, viewport] of [
    ['wide', { width: 1100, height: 760 }],
    ['360', PHONE],
  ]) {
    pageTest(`${theme}, ${size}: replies, edits, deletions and reactions fit and read`, { session: 'online', history: 6, colorScheme: theme, viewport }, async (page) => {
      const shot = (name) => screenshot(page, `${name}-${theme}-${size}`);
      await openContact(page, 'bob');
      const four = await idOf(page, 'Message 4');
      const three = await idOf(page, 'Message 3');
      await mock(page, 'peerReact', three, '❤️');
      await rightClick(page, 'Message 3');
      await page.click('#context-menu [aria-label="React with red heart"]');
      await waitChips(page, 'Message 3', '❤️ 2');
      await mock(page, 'peerDelete', four);
      await mock(page, 'receive', 'bob', 'Shall we meet at the station at nine, or is that too early for you?', three);
      await page.waitForSelector('#messages .quote');
      await rightClick(page, 'Message 5');
      await page.click('#context-menu [aria-label="React with thumbs up"]');
      await page.waitForSelector(`${row('Message 5')} .reaction`);
      // Edit one of yours.
      await rightClick(page, 'Message 3');
      await pick(page, 'Edit');
      await page.fill('#composer', 'Message 3 (edited)');
      await page.keyboard.press('Enter');
      await page.waitForSelector(`${row('Message 3 (edited)')} .edited`);
      // Reply to the long one.
      await actionsButton(page, 'Shall we meet at the station at nine, or is that too early for you?');
      await pick(page, 'Reply');
      await page.fill('#composer', 'Nine is fine');
      await page.keyboard.press('Enter');
      await page.waitForSelector(row('Nine is fine'));
      await page.mouse.move(1, 1);
      assert.ok((await sidewaysOverflow(page)) <= 0, 'nothing sticks out sideways');
      await shot('messages');
      // The actions menu, from the button of the newest message.
      await actionsButton(page, 'Nine is fine');
      const menu = await page.$eval('#context-menu', (m) => m.getBoundingClientRect().toJSON());
      assert.ok(menu.left >= 0 && menu.right <= viewport.width && menu.top >= 0 && menu.bottom <= viewport.height, 'the menu is in the window');
      await shot('message-actions');
      await pick(page, 'Reply');
      assert.ok((await sidewaysOverflow(page)) <= 0);
      await shot('message-replying');
      await page.keyboard.press('Escape');
      await page.keyboard.press('ArrowUp');
      await page.waitForSelector('#composer-bar[data-mode="edit"]');
      await shot('message-editing');
      await page.keyboard.press('Escape');
      await rightClick(page, 'Nine is fine');
      await pick(page, 'Delete for everyone');
      await page.waitForSelector('#confirm-dialog', { state: 'visible' });
      const dialog = await page.$eval('#confirm-dialog', (d) => d.getBoundingClientRect().toJSON());
      assert.ok(dialog.left >= 0 && dialog.right <= viewport.width, 'the dialog fits');
      await shot('message-delete-confirm');
      await page.click('#confirm-ok');
      await page.waitForSelector(`${row('You deleted this message')}`);
      await shot('messages-deleted');
    });
  }
}
