// Browser tests of the recovery code (the reminder card, Settings) and of signing out with the
// choice to keep or delete the history, against the mock backend, in real Chromium.
import assert from 'node:assert/strict';
import { callsOf as calls, focused, mock, pageTest, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const recoveryCode = (page) => page.evaluate(() => window.__parleyMock.recoveryCode);

/** Replaces the clipboard with one that records (or, `fails`, refuses) what is written. */
const fakeClipboard = (page, fails = false) =>
  page.evaluate((fails) => {
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: {
        writeText: async (text) => {
          if (fails) throw new DOMException('Write permission denied.', 'NotAllowedError');
          window.__copied = text;
        },
      },
    });
  }, fails);

/** How many lines each group of the shown code takes (1 each: it wraps between groups only). */
const groupLines = (page, selector) => page.$$eval(`${selector} .group`, (gs) => gs.map((g) => g.getClientRects().length));

pageTest('the recovery card: show, copy, "I\'ve saved it"', { session: 'online', params: { recovery: 'pending' } }, async (page) => {
  await page.waitForSelector('#recovery-card:not([hidden])');
  assert.equal(await page.textContent('#recovery-card h2'), 'Save your recovery code');
  assert.match(await page.textContent('#recovery-card'), /keyring is lost or reset.*on paper, or in a password manager/);
  assert.equal(await page.isVisible('#recovery-card-code'), false, 'hidden until asked for');
  assert.equal(await page.isVisible('#recovery-card-saved'), false, 'not before it was seen');
  await page.click('#recovery-card-show');
  await page.waitForSelector('#recovery-card-code', { state: 'visible' });
  const code = await recoveryCode(page);
  assert.equal(await page.textContent('#recovery-card-code'), code, 'the text is the code as it is');
  assert.equal(await page.$eval('#recovery-card-code', (c) => getComputedStyle(c).userSelect), 'all');
  assert.equal(await focused(page), 'recovery-card-copy');
  assert.equal(await page.isVisible('#recovery-card-show'), false);

  await fakeClipboard(page);
  await page.click('#recovery-card-copy');
  await page.waitForFunction(() => /^Copied/.test(document.querySelector('#recovery-card-status')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => window.__copied), code);
  await screenshot(page, 'recovery-card-light');

  // A clipboard that refuses: the code is selected instead, and the card says so.
  await fakeClipboard(page, true);
  await page.click('#recovery-card-copy');
  await page.waitForFunction(() => /couldn't copy it/.test(document.querySelector('#recovery-card-status')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => document.getSelection()?.toString()), code);

  await page.click('#recovery-card-saved');
  await page.waitForSelector('#recovery-card', { state: 'hidden' });
  assert.equal((await calls(page, 'recovery_code_saved')).length, 1);
  assert.equal(await focused(page), 'nav-chats', 'the focus does not vanish with the card');
});

pageTest('no recovery card once the code is saved', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main[data-connection="online"]');
  assert.equal(await page.isVisible('#recovery-card'), false);
});

pageTest('phone width: the recovery card wraps the code between groups', { session: 'online', viewport: PHONE, params: { recovery: 'pending' } }, async (page) => {
  await page.waitForSelector('#recovery-card:not([hidden])');
  await page.click('#recovery-card-show');
  await page.waitForSelector('#recovery-card-code', { state: 'visible' });
  const lines = await groupLines(page, '#recovery-card-code');
  assert.equal(lines.length, 13);
  assert.ok(lines.every((n) => n === 1), `no group is split: ${lines}`);
  const box = await page.$eval('#recovery-card-code', (c) => c.getBoundingClientRect());
  assert.ok(box.right <= PHONE.width, `the code is on screen: ${box.right}`);
  assert.ok((await sidewaysOverflow(page)) <= 0, 'no sideways scrolling');
  assert.equal(await page.isVisible('#recovery-card-saved'), true);
  await screenshot(page, 'recovery-card-360');
});

pageTest('phone width, dark: the recovery card', { session: 'online', viewport: PHONE, params: { recovery: 'pending', theme: 'dark' } }, async (page) => {
  await page.waitForSelector('#recovery-card:not([hidden])');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await page.click('#recovery-card-show');
  await page.waitForSelector('#recovery-card-code', { state: 'visible' });
  const colours = await page.evaluate(() => ({
    card: getComputedStyle(document.querySelector('#recovery-card')).backgroundColor,
    code: getComputedStyle(document.querySelector('#recovery-card-code')).backgroundColor,
    text: getComputedStyle(document.querySelector('#recovery-card-code')).color,
  }));
  assert.deepEqual(colours, { card: 'rgb(30, 35, 48)', code: 'rgb(38, 44, 59)', text: 'rgb(232, 234, 240)' }, 'the dark theme\'s surfaces and text');
  await screenshot(page, 'recovery-card-360-dark');
});

pageTest('Settings: where the keys are, and the recovery code on request (hidden again when reopened)', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForFunction(() => /kept in the system keyring\./.test(document.querySelector('#settings-keyring')?.textContent ?? ''));
  assert.equal(await page.isVisible('#settings-recovery-code'), false);
  await page.click('#settings-recovery-show');
  await page.waitForSelector('#settings-recovery-code', { state: 'visible' });
  assert.equal(await page.textContent('#settings-recovery-code'), await recoveryCode(page));
  await fakeClipboard(page);
  await page.click('#settings-recovery-copy');
  await page.waitForFunction(() => window.__copied !== undefined);
  assert.equal(await page.evaluate(() => window.__copied), await recoveryCode(page));
  assert.equal((await calls(page, 'recovery_code')).length, 1);
  await screenshot(page, 'settings-recovery-light');
  // Saving the form sends the keyring as it was.
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  assert.equal((await calls(page, 'set_settings')).at(-1).settings.keyring, 'os');

  await page.keyboard.press('Escape');
  await page.waitForSelector('#settings', { state: 'hidden' });
  await page.click('#nav-settings');
  await page.waitForSelector('#settings:not([hidden])');
  assert.equal(await page.isVisible('#settings-recovery-code'), false, 'hidden again');
  assert.equal(await page.isVisible('#settings-recovery-show'), true);
  assert.equal(await page.textContent('#settings-recovery-code'), '', 'and not in the page');
});

pageTest('signing out asks first: Escape and Cancel keep you signed in', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#sign-out');
  await page.waitForSelector('#sign-out-dialog', { state: 'visible' });
  const dialog = await page.$eval('#sign-out-dialog', (d) => ({
    role: d.getAttribute('role'),
    modal: d.getAttribute('aria-modal'),
    title: document.getElementById(d.getAttribute('aria-labelledby'))?.textContent,
    inMain: d.closest('#main') !== null,
  }));
  assert.deepEqual(dialog, { role: 'dialog', modal: 'true', title: 'Sign out of Parley on this computer?', inMain: true });
  assert.match(await page.textContent('#sign-out-dialog'), /you can read it again after signing in/);
  assert.equal(await page.isChecked('#sign-out-delete-history'), false, 'keeping the history is the default');
  assert.equal(await focused(page), 'sign-out-confirm');
  assert.equal(await page.getAttribute('#main .layout', 'inert'), '', 'the screen behind is inert');
  // The focus stays in the dialog.
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'sign-out-delete-history');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(page), 'sign-out-confirm');

  await page.keyboard.press('Escape');
  await page.waitForSelector('#sign-out-dialog', { state: 'hidden' });
  assert.equal(await focused(page), 'sign-out', 'back where it was');
  assert.equal(await page.getAttribute('#main .layout', 'inert'), null);
  await page.click('#sign-out');
  await page.check('#sign-out-delete-history');
  await page.click('#sign-out-cancel');
  await page.waitForSelector('#sign-out-dialog', { state: 'hidden' });
  assert.deepEqual(await calls(page, 'sign_out'), []);
  assert.equal(await page.getAttribute('#main', 'data-connection'), 'online');
  // Opened again, it starts from "keep".
  await page.click('#sign-out');
  assert.equal(await page.isChecked('#sign-out-delete-history'), false);
});

pageTest('signing out keeps the history, or deletes it when asked to', { session: 'online' }, async (page) => {
  const signIn = async () => {
    await page.fill('#signin-password', 'correct horse');
    await page.click('#signin-submit');
    await page.waitForSelector('#main[data-connection="online"]');
  };
  await page.waitForSelector('#contacts [data-user-id="carol"]');
  await page.click('#sign-out');
  await page.click('#sign-out-confirm');
  await page.waitForSelector('#auth');
  assert.deepEqual(await calls(page, 'sign_out'), [{ keepHistory: true }]);
  await signIn();
  await page.waitForSelector('#contacts [data-user-id="carol"]');

  await page.click('#sign-out');
  await page.check('#sign-out-delete-history');
  assert.equal(await page.textContent('#sign-out-confirm'), 'Sign out and delete');
  assert.match(await page.textContent('#sign-out-delete-warning'), /gone for good/);
  assert.equal(await page.getAttribute('#sign-out-delete-history', 'aria-describedby'), 'sign-out-delete-warning');
  await screenshot(page, 'sign-out-dialog-delete-light');
  await page.click('#sign-out-confirm');
  await page.waitForSelector('#auth');
  assert.deepEqual((await calls(page, 'sign_out')).at(-1), { keepHistory: false });
  await signIn();
  await page.waitForSelector('#contacts [data-user-id="bob"]');
  assert.equal(await page.$('#contacts [data-user-id="carol"]'), null, 'the history with Carol is gone');
});

pageTest('a failed sign-out says why in the dialog', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await mock(page, 'failNext', 'sign_out', 'history_error', 'disk full');
  await page.click('#sign-out');
  await page.click('#sign-out-confirm');
  await page.waitForFunction(() => document.querySelector('#sign-out-error')?.textContent !== '');
  assert.match(await page.textContent('#sign-out-error'), /message history/);
  assert.equal(await page.isEnabled('#sign-out-confirm'), true);
  assert.equal(await page.isVisible('#sign-out-dialog'), true);
});

pageTest('phone width, dark: the sign-out dialog fits', { session: 'online', viewport: PHONE, params: { theme: 'dark' } }, async (page) => {
  await page.waitForSelector('#main');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await page.click('#sign-out');
  await page.check('#sign-out-delete-history');
  const box = await page.$eval('#sign-out-dialog', (d) => d.getBoundingClientRect());
  assert.ok(box.left >= 0 && box.right <= PHONE.width, `on screen: ${box.left}–${box.right}`);
  assert.ok((await sidewaysOverflow(page)) <= 0);
  await screenshot(page, 'sign-out-dialog-360-dark');
});
