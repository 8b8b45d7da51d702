// Browser tests of safety numbers: the conversation header's button, the safety panel (digits, QR
// code, verify, accept), the notice while sending is held, against the mock backend in Chromium.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openContact, pageTest, recordHtmlParsing, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const BOB_NUMBER = '30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131';
const NEW_NUMBER = '71529 03348 15570 62894 40417 93306 28815 50962 37041 18857 64203 90518';
const LAPTOP = '#safety-devices li.safety-device[data-device="laptop"]';

/** @param {import('playwright-core').Page} page */
const headerLabel = (page) => page.textContent('#conversation-verify');
/** @param {import('playwright-core').Page} page */
const waitForLabel = (page, label) => page.waitForFunction((l) => document.querySelector('#conversation-verify')?.textContent === l, label);

/** Opens the panel from the header and waits for the numbers. @param {import('playwright-core').Page} page */
async function openPanel(page) {
  await page.click('#conversation-verify');
  await page.waitForSelector('#safety-panel:not([hidden])');
  await page.waitForFunction(() => !/Loading/.test(document.querySelector('#safety-status')?.textContent ?? ''));
}

/** What a device shows: its digits, groups, state, and its QR image once loaded. @param {import('playwright-core').Page} page */
async function device(page, selector) {
  await page.waitForFunction((s) => {
    const img = document.querySelector(`${s} img.safety-qr`);
    return img instanceof HTMLImageElement && img.complete;
  }, selector);
  return page.$eval(selector, (li) => {
    const img = li.querySelector('img.safety-qr');
    return {
      number: li.querySelector('.safety-number')?.textContent,
      groups: li.querySelectorAll('.safety-number .group').length,
      state: li.querySelector('.safety-state')?.textContent,
      src: img.getAttribute('src'),
      alt: img.getAttribute('alt'),
      naturalWidth: img.naturalWidth,
    };
  });
}

/**
 * Whether the panel is made of the elements the view makes (no markup parsed into it) and the
 * page holds no SVG element (the QR code is only an image's URL). @param {import('playwright-core').Page} page
 */
async function onlyOwnElements(page) {
  const tags = await page.$$eval('#safety-panel, #safety-panel *', (els) => [...new Set(els.map((e) => e.tagName.toLowerCase()))].sort());
  assert.deepEqual(tags.filter((t) => !['button', 'div', 'h3', 'img', 'li', 'p', 'section', 'span', 'ul'].includes(t)), [], `only the view's own elements: ${tags}`);
  assert.equal(await page.$$eval('svg, #app script, #app iframe, #app object, #app embed', (e) => e.length), 0, 'no SVG in the page, no script in the app');
}

/** Nothing of the panel sticks out sideways, nor does the page scroll sideways. @param {import('playwright-core').Page} page */
async function fitsSideways(page, width) {
  assert.ok((await sidewaysOverflow(page)) <= 0, 'the page does not scroll sideways');
  const { scroll, client, right } = await page.$eval('#safety-panel', (p) => ({
    scroll: p.scrollWidth,
    client: p.clientWidth,
    right: Math.max(...[...p.querySelectorAll('*')].filter((e) => e.getClientRects().length > 0).map((e) => e.getBoundingClientRect().right)),
  }));
  assert.ok(scroll <= client, `the panel does not scroll sideways: ${scroll} > ${client}`);
  assert.ok(right <= width, `everything in it is on screen: ${right}`);
  const lines = await page.$$eval('#safety-panel .safety-number .group', (gs) => gs.map((g) => g.getClientRects().length));
  assert.ok(lines.length > 0 && lines.every((n) => n === 1), `no group of digits is split: ${lines}`);
  const header = await page.$eval('#conversation-verify', (b) => b.getBoundingClientRect().right);
  assert.ok(header <= width, `the header's button is on screen: ${header}`);
}

pageTest('compare, then mark as verified: digits in groups, a QR image, the header says Verified', { session: 'online', init: recordHtmlParsing }, async (page) => {
  await openContact(page, 'bob');
  await waitForLabel(page, 'Verify');
  assert.equal(await page.getAttribute('#conversation-verify', 'data-trust'), 'unverified');
  assert.deepEqual(await callsOf(page, 'safety_numbers'), [{ userId: 'bob' }], 'loaded once when the conversation opened');
  // What else happens in the conversation loads nothing more.
  await mock(page, 'receive', 'bob', 'hello');
  await mock(page, 'typing', 'bob', true);
  await page.waitForSelector('#messages .message');
  assert.equal((await callsOf(page, 'safety_numbers')).length, 1);
  assert.equal(await page.isVisible('#identity-held'), false);

  await openPanel(page);
  assert.equal(await page.getAttribute('#conversation-verify', 'aria-expanded'), 'true');
  assert.equal(await focused(page), 'safety-title');
  assert.equal(await page.textContent('#safety-title'), 'Safety number with Bob');
  assert.match(await page.textContent('#safety-intro'), /with Bob in person, or on a call you trust\. If they match, no one is in between/);
  assert.match(await page.textContent('#safety-intro'), /reinstalls Parley or gets a new keyring/);
  const { src, ...laptop } = await device(page, LAPTOP);
  assert.deepEqual(laptop, { number: BOB_NUMBER, groups: 12, state: 'Not verified', alt: 'QR code of the safety number', naturalWidth: 160 });
  // The core's SVG as it is, in the image's URL.
  assert.match(src, /^data:image\/svg\+xml;base64,/);
  assert.match(Buffer.from(src.split(',')[1], 'base64').toString('utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(await page.$eval(`${LAPTOP} .safety-number`, (n) => getComputedStyle(n).fontFamily), /mono/i);
  assert.equal(await page.isVisible('#safety-verify'), true);
  assert.equal(await page.isVisible('#safety-accept'), false);
  assert.equal(await page.isVisible('#safety-warning'), false);
  assert.equal(await page.isVisible('#safety-empty'), false);
  await screenshot(page, 'safety-panel-light');

  // Nothing met any more by the time the person clicks (another window reset it): the error shows.
  await mock(page, 'failNext', 'verify_contact', 'nothing_to_verify', 'nothing to verify');
  await page.click('#safety-verify');
  await page.waitForFunction(() => /nothing to verify yet/.test(document.querySelector('#safety-error')?.textContent ?? ''));
  assert.equal(await page.getAttribute('#safety-error', 'role'), 'alert');
  assert.equal(await headerLabel(page), 'Verify');

  await page.click('#safety-verify');
  await waitForLabel(page, 'Verified ✓');
  assert.deepEqual(await callsOf(page, 'verify_contact'), [{ userId: 'bob' }, { userId: 'bob' }]);
  assert.ok((await callsOf(page, 'safety_numbers')).length >= 3, 'reloaded when opened and after verifying');
  await page.waitForFunction((s) => document.querySelector(`${s} .safety-state`)?.textContent === 'Verified', LAPTOP);
  assert.equal(await page.isVisible('#safety-verify'), false, 'nothing left to verify');
  assert.equal(await page.textContent('#safety-error'), '');
  assert.match(await page.textContent('#safety-status'), /^Bob is verified\./);
  assert.equal(await page.evaluate(() => document.querySelector('#safety-panel')?.contains(document.activeElement)), true, 'the focus stays in the panel');
  await screenshot(page, 'safety-panel-verified');

  await onlyOwnElements(page);
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), [], 'no string was parsed as HTML');
  // (The recorder does notice.)
  assert.deepEqual(await page.evaluate(() => ((document.createElement('p').innerHTML = '<b>x</b>'), window.__htmlParsed.splice(0))), ['innerHTML of p']);

  // Escape closes it, and the focus goes back to the button.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#safety-panel', { state: 'hidden' });
  assert.equal(await focused(page), 'conversation-verify');
  assert.equal(await page.getAttribute('#conversation-verify', 'aria-expanded'), 'false');
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail');
});

pageTest('key events for the open contact reload the numbers: a new device, then a changed key holds sending', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await openPanel(page);
  await page.click('#safety-verify');
  await waitForLabel(page, 'Verified ✓');
  await page.click('#safety-close');
  await page.waitForSelector('#safety-panel', { state: 'hidden' });
  assert.equal(await focused(page), 'conversation-verify');

  // A device added later is pinned unverified: Bob as a whole is not verified any more.
  await mock(page, 'newDevice', 'bob', 'phone');
  await waitForLabel(page, 'Verify');
  await mock(page, 'changeKey', 'bob', 'laptop');
  await waitForLabel(page, 'Key changed');
  await page.waitForSelector('#identity-held:not([hidden])');
  assert.equal(await page.textContent('#identity-held span'), 'Messages to Bob wait until you compare the new safety number and accept it.');
  assert.match((await page.$$eval('#messages .system', (s) => s.map((x) => x.textContent))).join('\n'), /security key changed/);
  await page.click('#identity-held-compare');
  await page.waitForSelector('#safety-panel:not([hidden])');
  await page.waitForSelector('#safety-devices li[data-device="phone"]');
  assert.deepEqual(await page.$$eval('#safety-devices li', (ls) => ls.map((l) => [l.dataset.device, l.dataset.state])), [
    ['laptop', 'changed'],
    ['phone', 'unverified'],
  ]);
  assert.equal(await page.isVisible('#safety-accept'), true);
  assert.equal(await page.isVisible('#safety-verify'), false, 'no verifying while a change is pending');
  await page.keyboard.press('Escape');
  assert.equal(await focused(page), 'identity-held-compare', 'the focus goes back to what opened it');

  // Another contact's event changes nothing here.
  const before = (await callsOf(page, 'safety_numbers')).length;
  await mock(page, 'emit', { event: 'identity-new-device', user_id: 'carol', device: 'tablet' });
  await page.waitForTimeout(50);
  assert.equal((await callsOf(page, 'safety_numbers')).length, before);
});

pageTest('a verified contact\u2019s changed key: the notice, "Key changed", messages queued, then Accept', { session: 'online', params: { identity: 'changed' } }, async (page) => {
  await openContact(page, 'bob');
  await waitForLabel(page, 'Key changed');
  assert.equal(await page.getAttribute('#conversation-verify', 'data-trust'), 'changed');
  await page.waitForSelector('#identity-held:not([hidden])');
  assert.equal(await page.textContent('#identity-held span'), 'Messages to Bob wait until you compare the new safety number and accept it.');

  // Writing still works: the message waits in the outbox.
  await page.fill('#composer', 'are you still you?');
  await page.press('#composer', 'Enter');
  await page.waitForSelector('#messages .message[data-direction="outgoing"][data-state="pending"]');
  await screenshot(page, 'safety-held-light');

  await page.click('#identity-held-compare');
  await page.waitForSelector('#safety-panel:not([hidden])');
  const laptop = await device(page, LAPTOP);
  assert.equal(laptop.number, NEW_NUMBER, 'the new key\u2019s number');
  assert.match(laptop.state, /^Key changed/);
  assert.ok(laptop.naturalWidth > 0);
  assert.equal(await page.isVisible('#safety-verify'), false);
  assert.equal(await page.isVisible('#safety-accept'), true);
  assert.match(await page.textContent('#safety-warning'), /Only accept the new key after comparing the new number above with Bob/);
  await screenshot(page, 'safety-changed-light');

  assert.equal(await page.isVisible('#identity-held'), false, 'the notice makes way for the panel');
  await page.click('#safety-accept');
  await waitForLabel(page, 'Verify');
  assert.deepEqual(await callsOf(page, 'accept_identity'), [{ userId: 'bob' }]);
  await page.waitForFunction((s) => document.querySelector(`${s} .safety-state`)?.textContent === 'Not verified', LAPTOP);
  assert.equal(await page.isVisible('#safety-accept'), false);
  assert.equal(await page.isVisible('#safety-warning'), false);
  assert.equal(await page.isVisible('#safety-verify'), true, 'compare and verify again');
  assert.match(await page.textContent('#safety-status'), /accepted and your messages to Bob go out/);
  // The held message went out; closed, the panel leaves no notice behind.
  await page.waitForSelector('#messages .message[data-direction="outgoing"][data-state="sent"]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#safety-panel', { state: 'hidden' });
  assert.equal(await page.isVisible('#identity-held'), false);
  assert.equal(await focused(page), 'conversation-verify', 'the notice\u2019s button is gone: the focus goes to the header\u2019s');
});

pageTest('a contact not met directly yet: the empty text, nothing to verify; a failed load shows why', { session: 'online' }, async (page) => {
  await openContact(page, 'carol');
  await waitForLabel(page, 'Verify');
  assert.equal(await page.getAttribute('#conversation-verify', 'data-trust'), 'unmet');
  await openPanel(page);
  assert.equal(await page.textContent('#safety-title'), 'Safety number with Carol');
  assert.equal(await page.textContent('#safety-empty'), 'You haven\u2019t connected directly with Carol yet: chat with them first.');
  assert.equal(await page.isVisible('#safety-empty'), true);
  assert.equal(await page.$$eval('#safety-devices li', (l) => l.length), 0);
  assert.equal(await page.isVisible('#safety-verify'), false);
  assert.equal(await page.isVisible('#safety-accept'), false);
  await screenshot(page, 'safety-empty-light');

  await page.click('#conversation-verify');
  await page.waitForSelector('#safety-panel', { state: 'hidden' });
  await mock(page, 'failNext', 'safety_numbers', 'history_error', 'disk on fire');
  await page.click('#conversation-verify');
  await page.waitForFunction(() => document.querySelector('#safety-error')?.textContent === "Parley couldn't read or write its message history.");
  assert.equal(await page.isVisible('#safety-error'), true);

  // Another conversation closes the panel.
  await openContact(page, 'bob');
  assert.equal(await page.isVisible('#safety-panel'), false);
  await openPanel(page);
  assert.equal(await page.textContent('#safety-error'), '', 'the old error is gone');
  assert.equal(await page.$$eval('#safety-devices li', (l) => l.length), 1);
});

pageTest('phone width: the panel with a changed key fits, and Escape closes it before going back', { session: 'online', viewport: PHONE, params: { identity: 'changed' } }, async (page) => {
  await openContact(page, 'bob');
  await waitForLabel(page, 'Key changed');
  await page.waitForSelector('#identity-held:not([hidden])');
  assert.ok((await sidewaysOverflow(page)) <= 0);
  await screenshot(page, 'safety-held-360');
  await openPanel(page);
  await device(page, LAPTOP);
  await fitsSideways(page, PHONE.width);
  await screenshot(page, 'safety-changed-360');
  // The panel scrolls (the composer stays below it): down to the warning and Accept.
  await page.$eval('#safety-accept', (b) => b.scrollIntoView({ block: 'end' }));
  const accept = await page.$eval('#safety-accept', (b) => b.getBoundingClientRect());
  const panel = await page.$eval('#safety-panel', (p) => p.getBoundingClientRect());
  assert.ok(accept.bottom <= panel.bottom + 1 && accept.right <= PHONE.width, 'Accept can be reached');
  await screenshot(page, 'safety-accept-360');
  await page.focus('#composer');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#safety-panel', { state: 'hidden' });
  assert.equal(await page.getAttribute('#main', 'data-pane'), 'detail', 'still in the conversation');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#contacts', { state: 'visible' });
});

pageTest('phone width, dark: the panel fits and the QR code stays black on white', { session: 'online', viewport: PHONE, params: { theme: 'dark' } }, async (page) => {
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await openContact(page, 'bob');
  await waitForLabel(page, 'Verify');
  await openPanel(page);
  const laptop = await device(page, LAPTOP);
  assert.ok(laptop.naturalWidth > 0);
  await fitsSideways(page, PHONE.width);
  const colours = await page.evaluate(() => ({
    panel: getComputedStyle(document.querySelector('#safety-panel')).backgroundColor,
    qr: getComputedStyle(document.querySelector('#safety-panel .safety-qr')).backgroundColor,
  }));
  assert.deepEqual(colours, { panel: 'rgb(22, 26, 34)', qr: 'rgb(255, 255, 255)' });
  await screenshot(page, 'safety-panel-360-dark');
  await page.click('#safety-verify');
  await waitForLabel(page, 'Verified ✓');
  await screenshot(page, 'safety-verified-360-dark');
});
