// Browser tests of what the network looks like to a person: the sign-in screen's *Find servers on
// this network* (servers announced nearby, their fingerprints compared before one is used) and
// the conversation header's label of how a direct channel travels (direct, through NAT, relayed).
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openContact, pageTest, recordHtmlParsing, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
/** The mock's LAN server certificate (mock-backend.ts), as the core groups it. */
const LAN_CERT = '3F2A 91BC 0D4E 5F60 7182 93A4 B5C6 D7E8 F90A 1B2C 3D4E 5F60 7182 93A4 B5C6 D7E8';
/** The invite the mock's first discovered server announces (its address and LAN_CERT). */
const LAN_INVITE = 'parley://join?server=https%3A%2F%2F192.168.1.20%3A7891&fp=PyqRvA1OX2BxgpOktcbX6PkKGyw9Tl9gcYKTpLXG1-g';
const RELAYED_TITLE = 'A relay server forwards this conversation’s traffic. It stays end-to-end encrypted, but the relay sees that you two are talking and how much.';

/** The button named exactly `name` (its accessible name). @param {import('playwright-core').Page} page */
const button = (page, name) => page.getByRole('button', { name, exact: true });

/** Clicks *Find servers on this network* and waits for the answer. @param {import('playwright-core').Page} page */
async function findServers(page) {
  await page.waitForSelector('#auth');
  await button(page, 'Find servers on this network').click();
  await page.waitForFunction(() => document.querySelector('#server-discovery')?.getAttribute('aria-busy') === null);
}

/** The lines a fingerprint is laid out on: the groups on each. @param {import('playwright-core').Page} page */
const fingerprintLines = (page, selector) =>
  page.$eval(selector, (code) => {
    const lines = new Map();
    for (const g of code.querySelectorAll('.group')) {
      const top = Math.round(g.getBoundingClientRect().top);
      lines.set(top, [...(lines.get(top) ?? []), g.textContent]);
    }
    return [...lines.values()].map((l) => l.length);
  });

// --- servers on this network ---------------------------------------------------------------

pageTest('Find servers on this network: looking, then each server found, as text, with its fingerprint', { session: 'none', init: recordHtmlParsing }, async (page) => {
  await page.waitForSelector('#auth');
  await mock(page, 'setDiscovery', { servers: await page.evaluate(() => window.__parleyMock.discovered), delayMs: 1500 });
  assert.equal(await page.isVisible('#discovery-results'), false, 'nothing listed before looking');
  await button(page, 'Find servers on this network').click();
  // While it listens: said, and the button can't start a second search.
  await page.waitForFunction(() => document.querySelector('#discovery-status')?.textContent === 'Looking for servers on this network…');
  assert.equal(await page.getAttribute('#discovery-status', 'role'), 'status');
  assert.equal(await page.isDisabled('#discover-servers'), true);
  assert.equal(await page.getAttribute('#server-discovery', 'aria-busy'), 'true');
  await page.waitForSelector('#discovery-results:not([hidden])');
  assert.equal(await page.isDisabled('#discover-servers'), false);
  assert.equal(await page.textContent('#discovery-status'), 'Found 2 servers on this network:');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.address), '192.168.1.20:7891', 'the focus on the first server');
  assert.equal((await callsOf(page, 'discover_servers')).length, 1);

  const rows = await page.$$eval('#discovery-results .discovered-server', (ls) =>
    ls.map((l) => ({
      address: l.dataset.address,
      name: l.querySelector('.discovered-name')?.textContent,
      shownAddress: l.querySelector('.discovered-address')?.textContent,
      fingerprint: l.querySelector('.fingerprint')?.textContent,
      markup: l.querySelectorAll('.discovered-name *').length,
    })),
  );
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], { address: '192.168.1.20:7891', name: 'Parley on kim-laptop', shownAddress: '192.168.1.20:7891', fingerprint: LAN_CERT, markup: 0 });
  // A name is whatever was announced: text, never markup.
  assert.equal(rows[1].name, '<b>Office</b> Parley on the second-floor server with a very long name');
  assert.equal(rows[1].markup, 0);
  assert.equal(rows[1].shownAddress, '[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a]:7891');
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), [], 'no string parsed as HTML');
  // Fingerprints as on the trust question: monospace, selectable as a whole, four groups a line.
  const look = await page.$eval('#discovery-results .fingerprint', (c) => ({ font: getComputedStyle(c).fontFamily, select: getComputedStyle(c).userSelect }));
  assert.match(look.font, /mono/i);
  assert.equal(look.select, 'all');
  assert.deepEqual(await fingerprintLines(page, '#discovery-results li:first-child .fingerprint'), [4, 4, 4, 4]);
  // One *Use this server* each, told apart by the server's name and address.
  assert.equal(await button(page, 'Use this server').count(), 2);
  const described = await page.$eval('#discovery-results li:first-child .use-server', (b) => b.getAttribute('aria-describedby')?.split(' ').map((id) => document.getElementById(id)?.textContent));
  assert.deepEqual(described, ['Parley on kim-laptop', '192.168.1.20:7891']);
  assert.equal(await page.inputValue('#server-url-input'), '', 'nothing used yet');
});

pageTest('Use this server: the fingerprint to compare first; Cancel goes back; The fingerprints match fills the invite, which pins it', { session: 'none' }, async (page) => {
  await findServers(page);
  await button(page, 'Use this server').first().click();
  await page.waitForSelector('#discovery-confirm:not([hidden])');
  assert.equal(await focused(page), 'discovery-confirm');
  assert.equal(await page.isVisible('#discovery-results'), false);
  assert.equal(await page.isVisible('#discovery-status'), false, '"Found 2 servers" goes with the list');
  const text = await page.textContent('#discovery-confirm');
  assert.match(text, /Parley on kim-laptop at 192\.168\.1\.20:7891/);
  assert.match(text, /Compare it with the one shown in the server owner’s Settings → Let others join\./);
  assert.equal(await page.textContent('#discovery-fingerprint'), LAN_CERT);
  assert.deepEqual(await fingerprintLines(page, '#discovery-fingerprint'), [4, 4, 4, 4]);
  assert.equal(await page.inputValue('#server-url-input'), '', 'not trusted blindly: nothing filled in yet');
  assert.equal(await page.isChecked('#server-embedded'), true);

  // Cancel: back to the list, on the button that chose it.
  await button(page, 'Cancel').click();
  await page.waitForSelector('#discovery-confirm', { state: 'hidden' });
  assert.equal(await page.isVisible('#discovery-results'), true);
  assert.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.address), '192.168.1.20:7891');
  assert.equal(await page.inputValue('#server-url-input'), '');

  // They match: the invite goes into the field ("Another server"), and on to the sign-in.
  await button(page, 'Use this server').first().click();
  await button(page, 'The fingerprints match').click();
  await page.waitForSelector('#discovery-confirm', { state: 'hidden' });
  assert.equal(await page.isChecked('#server-url'), true);
  assert.equal(await page.isDisabled('#server-url-input'), false);
  assert.equal(await page.inputValue('#server-url-input'), LAN_INVITE);
  assert.equal(await page.isVisible('#discovery-results'), false);
  assert.equal(await page.textContent('#discovery-status'), 'Using Parley on kim-laptop (192.168.1.20:7891): sign in or create an account on it.');
  assert.equal(await focused(page), 'signin-login');
  await page.fill('#signin-login', 'alice');
  await page.fill('#signin-password', 'correct horse');
  await page.click('#signin-submit');
  await page.waitForSelector('#main[data-connection="online"]');
  assert.deepEqual((await callsOf(page, 'sign_in')).at(-1).server, { kind: 'url', url: LAN_INVITE }, 'the invite, which pins the certificate');
  assert.equal((await callsOf(page, 'trust_server')).length, 0, 'no question: the invite names the certificate');
});

pageTest('a server found when creating an account: the invite goes in, the focus to the first empty field', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  await page.click('#tab-signup');
  await findServers(page);
  await button(page, 'Use this server').nth(1).click();
  assert.match(await page.textContent('#discovery-confirm-server'), /^<b>Office<\/b> Parley .* at \[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a\]:7891$/);
  await button(page, 'The fingerprints match').click();
  assert.match(await page.inputValue('#server-url-input'), /^parley:\/\/join\?server=https%3A%2F%2F%5Bfd12/);
  assert.equal(await focused(page), 'signup-username');
  // Typing another address by hand: "Using …" no longer holds.
  await page.fill('#server-url-input', 'chat.example.org');
  assert.equal(await page.textContent('#discovery-status'), '');
});

pageTest('no server found: ask for an invite', { session: 'none', params: { discover: 'none' } }, async (page) => {
  await findServers(page);
  assert.equal(await page.textContent('#discovery-status'), 'No Parley servers found on this network. Ask the person running one for an invite.');
  assert.equal(await page.isVisible('#discovery-results'), false);
  assert.equal(await button(page, 'Use this server').count(), 0);
  assert.equal(await page.textContent('#discovery-error'), '');
  assert.equal(await focused(page), 'discover-servers', 'the focus back on the button');
  await page.$eval('#server-discovery', (d) => d.scrollIntoView({ block: 'center' }));
  await screenshot(page, 'discovery-none-light-wide');
});

pageTest('looking fails: the error in words, with the core’s message; trying again works', { session: 'none', params: { discover: 'error' } }, async (page) => {
  await findServers(page);
  assert.equal(await page.getAttribute('#discovery-error', 'role'), 'alert');
  assert.match(await page.textContent('#discovery-error'), /^Parley can't look for servers on this network right now\./);
  assert.equal(await page.textContent('#discovery-error-detail'), 'Multicast DNS is not available: no network interface supports multicast.');
  assert.equal(await page.textContent('#discovery-status'), '');
  await page.$eval('#server-discovery', (d) => d.scrollIntoView({ block: 'center' }));
  await screenshot(page, 'discovery-error-light-wide');
  // Another error: its message.
  await mock(page, 'setDiscovery', { error: { code: 'io_error', message: 'could not open a socket on port 5353' } });
  await findServers(page);
  assert.equal(await page.textContent('#discovery-error'), 'Could not open a socket on port 5353.');
  // It works now: the error goes.
  await mock(page, 'setDiscovery', { servers: await page.evaluate(() => window.__parleyMock.discovered.slice(0, 1)) });
  await findServers(page);
  assert.equal(await page.textContent('#discovery-error'), '');
  assert.equal(await page.textContent('#discovery-status'), 'Found 1 server on this network:');
});

for (const [theme, size, viewport] of [['light', 'wide', { width: 1100, height: 760 }], ['dark', 'wide', { width: 1100, height: 760 }], ['light', 'phone', PHONE], ['dark', 'phone', PHONE]]) {
  pageTest(`the servers found and the comparison fit, ${theme}, ${size}`, { session: 'none', viewport, params: { theme } }, async (page) => {
    const fits = async (what) => assert.ok((await sidewaysOverflow(page)) <= 0, `${what}: no sideways scrolling`);
    const inView = async (selector) => {
      const box = await page.$eval(selector, (b) => b.getBoundingClientRect().toJSON());
      assert.ok(box.left >= 0 && box.right <= viewport.width, `${selector} is within the window: ${JSON.stringify(box)}`);
    };
    await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
    await findServers(page);
    await fits('servers found');
    for (const sel of ['#discovery-results li:last-child .discovered-name', '#discovery-results li:last-child .discovered-address', '#discovery-results li:last-child .fingerprint', '#discovery-results li:last-child .use-server']) await inView(sel);
    await page.$eval('#server-discovery', (s) => s.scrollIntoView({ block: 'start' }));
    await screenshot(page, `discovery-list-${theme}-${size}`);
    await button(page, 'Use this server').nth(1).click();
    await page.waitForSelector('#discovery-confirm:not([hidden])');
    await fits('the comparison');
    for (const sel of ['#discovery-fingerprint', '#discovery-match', '#discovery-cancel']) await inView(sel);
    await page.$eval('#discovery-confirm', (s) => s.scrollIntoView({ block: 'center' }));
    await screenshot(page, `discovery-confirm-${theme}-${size}`);
  });
}

// --- how a conversation is connected ---------------------------------------------------------

/** Joins the lobby (Bob and Carol are there: online) and opens Bob's conversation. @param {import('playwright-core').Page} page */
async function openBob(page) {
  await page.waitForSelector('#main');
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await page.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
  await openContact(page, 'bob');
}

/** The header's route label as shown (null while hidden). @param {import('playwright-core').Page} page */
const routeShown = (page) =>
  page.$eval('#conversation-route', (r) => (r.hidden || r.offsetParent === null ? null : { text: r.querySelector('.route-text')?.textContent, route: r.dataset.route, title: r.getAttribute('title') }));

pageTest('the conversation header says how the direct channel travels, and follows it', { session: 'online', params: { route: 'relayed' } }, async (page) => {
  await openBob(page);
  // From the contact list: a channel to Bob is open, through a relay.
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.hidden === false);
  assert.deepEqual(await routeShown(page), { text: 'Relayed (TURN)', route: 'relayed', title: RELAYED_TITLE });
  // Next to the online state, in words (also for screen readers, which don't read tooltips).
  assert.equal(await page.$eval('#conversation-route', (r) => r.previousElementSibling?.textContent), 'online');
  assert.equal(await page.textContent('#conversation-route'), `Relayed (TURN): ${RELAYED_TITLE}`);
  const contrastOk = await page.$eval('#conversation-route', (r) => getComputedStyle(r).color !== getComputedStyle(r).backgroundColor);
  assert.ok(contrastOk);

  // The channel closes: no label.
  await mock(page, 'disconnect', 'bob');
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.hidden === true);
  // It opens again through NAT; a second device on the same network is better still.
  await mock(page, 'connect', 'bob', 'through-nat');
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.dataset.route === 'through-nat');
  assert.equal((await routeShown(page)).text, 'Direct (through NAT)');
  assert.match((await routeShown(page)).title, /directly between your two devices across your routers \(NAT\)/);
  await mock(page, 'connect', 'bob', 'direct', 'phone');
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.dataset.route === 'direct');
  assert.equal((await routeShown(page)).text, 'Direct (same network)');
  await mock(page, 'disconnect', 'bob', 'phone');
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.dataset.route === 'through-nat');
  // Not known how it travels: no label rather than a guess.
  await mock(page, 'disconnect', 'bob');
  await mock(page, 'connect', 'bob', null);
  await page.waitForFunction(() => document.querySelector('#conversation-route')?.hidden === true);

  // Carol: no channel, no label; back to Bob, it is there again.
  await mock(page, 'connect', 'bob', 'relayed');
  await openContact(page, 'carol');
  assert.equal(await routeShown(page), null);
  await openContact(page, 'bob');
  assert.equal((await routeShown(page)).text, 'Relayed (TURN)');
});

for (const [theme, size, viewport] of [['light', 'wide', { width: 1100, height: 760 }], ['dark', 'wide', { width: 1100, height: 760 }], ['light', 'phone', PHONE], ['dark', 'phone', PHONE]]) {
  pageTest(`the conversation header with "Relayed (TURN)" fits, ${theme}, ${size}`, { session: 'online', viewport, params: { theme, route: 'relayed', history: '6' } }, async (page) => {
    await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
    await openBob(page);
    await page.waitForFunction(() => document.querySelector('#conversation-route')?.hidden === false);
    assert.ok((await sidewaysOverflow(page)) <= 0, 'no sideways scrolling');
    const [header, label, verify] = await Promise.all(['.conversation-header', '#conversation-route', '#conversation-verify'].map((s) => page.$eval(s, (e) => e.getBoundingClientRect().toJSON())));
    assert.ok(label.right <= verify.left + 1, `the label stays left of the Verify button: ${JSON.stringify({ label, verify })}`);
    assert.ok(label.bottom <= header.bottom && label.right <= viewport.width, 'inside the header');
    await screenshot(page, `conversation-relayed-${theme}-${size}`);
  });
}
