// Browser tests of the start-up screen (the profile did not open: no keyring, a locked history,
// another failure) against the mock backend, in real Chromium.
import assert from 'node:assert/strict';
import { callsOf as calls, focused, mock, pageTest, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
/** The commands called, in order. */
const commandOrder = (page) => page.evaluate(() => window.__parleyMock.calls.map((c) => c.cmd));

/** From any start-up screen to the locked one, with `code` tried (and refused) in its field. */
async function lockedWithCode(page, code) {
  await mock(page, 'setStartupProblem', 'history_locked');
  await page.click('#startup-retry');
  await page.waitForSelector('#recovery-form');
  await page.fill('#recovery-code-input', code);
  await page.click('#recovery-unlock');
  await page.waitForFunction(() => document.querySelector('#recovery-error')?.textContent !== '');
}

/** The card is on screen, and nothing is wider than the window. */
async function assertFits(page, width) {
  assert.ok((await sidewaysOverflow(page)) <= 0, 'no sideways scrolling');
  const card = await page.$eval('.startup-card', (c) => c.getBoundingClientRect());
  assert.ok(card.left >= 0 && card.right <= width, `the card is on screen: ${card.left}–${card.right}`);
}

pageTest('no keyring: the screen says so; "Try again" that does not help says that; the kernel keyring goes on to sign-in', { params: { startup: 'keyring_unavailable' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="keyring_unavailable"]');
  assert.equal(await page.textContent('#startup-title'), 'Parley needs a keyring');
  assert.match(await page.textContent('#startup'), /keeps your sign-in and the key of your encrypted message history in the system keyring/);
  const message = await page.textContent('#startup-message');
  assert.match(message, /^Cannot keep your sign-in and keys/, 'the core message, as a sentence');
  assert.match(message, /gnome-keyring, KWallet or KeePassXC/);
  assert.equal(await focused(page), 'startup-retry');
  assert.match(await page.textContent('#startup-kernel-keyring-hint'), /forgets everything when the computer restarts.*recovery code/);
  assert.equal(await page.getAttribute('#startup-kernel-keyring', 'aria-describedby'), 'startup-kernel-keyring-hint');
  assert.equal(await page.$('#auth, #main'), null);
  await screenshot(page, 'startup-keyring-light');

  // Nothing changed: it says so, and stays.
  await page.click('#startup-retry');
  await page.waitForFunction(() => /did not help/.test(document.querySelector('#startup-error')?.textContent ?? ''));
  assert.equal(await page.getAttribute('#startup-error', 'role'), 'alert');
  assert.equal(await page.getAttribute('#startup', 'data-code'), 'keyring_unavailable');
  assert.equal(await focused(page), 'startup-retry');

  await page.click('#startup-kernel-keyring');
  await page.waitForSelector('#auth');
  assert.equal(await focused(page), 'signin-login', 'the usual start goes on');
  assert.deepEqual(await calls(page, 'retry_startup'), [{}, { keyring: 'keyutils' }]);
  // Nothing of the profile was asked for before it was open.
  const order = await commandOrder(page);
  const opened = order.lastIndexOf('retry_startup');
  const early = order.slice(0, opened).filter((c) => !['app_info', 'startup_status', 'retry_startup', 'get_settings', 'report_media_caps', 'ui_ready'].includes(c));
  assert.deepEqual(early, []);
  assert.ok(order.indexOf('restore_session') > opened);

  // The choice is in the settings, and Settings says where the keys are.
  await page.fill('#signin-login', 'alice');
  await page.fill('#signin-password', 'correct horse');
  await page.click('#signin-submit');
  await page.waitForSelector('#main[data-connection="online"]');
  await page.click('#nav-settings');
  await page.waitForFunction(() => /Linux kernel keyring \(forgotten at restart\)/.test(document.querySelector('#settings-keyring')?.textContent ?? ''));
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  assert.equal((await calls(page, 'set_settings')).at(-1).settings.keyring, 'keyutils', 'carried through the form unchanged');
});

pageTest('no keyring and no kernel keyring: only "Try again"', { params: { startup: 'keyring_unavailable', kernel: '0' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="keyring_unavailable"]');
  assert.equal(await page.$('#startup-kernel-keyring'), null);
  await mock(page, 'setStartupProblem', null);
  await page.click('#startup-retry');
  await page.waitForSelector('#auth');
});

pageTest('a locked history: empty, malformed and wrong codes say so and stay; the right one (sloppily typed) opens it', { session: 'online', params: { startup: 'history_locked' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="history_locked"]');
  assert.equal(await page.textContent('#startup-title'), 'Your history is locked');
  assert.match(await page.textContent('#startup'), /safe and untouched/);
  assert.match(await page.textContent('#startup .startup-lost'), /Lost the code\?.*Nothing is deleted/);
  assert.equal(await focused(page), 'recovery-code-input');
  const attrs = await page.$eval('#recovery-code-input', (i) => ({
    autocomplete: i.getAttribute('autocomplete'),
    spellcheck: i.getAttribute('spellcheck'),
    autocapitalize: i.getAttribute('autocapitalize'),
    font: getComputedStyle(i).fontFamily,
    label: i.labels?.[0]?.textContent,
  }));
  assert.deepEqual({ ...attrs, font: /mono/i.test(attrs.font) }, { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', font: true, label: 'Recovery code' });
  assert.equal(await page.getAttribute('#recovery-error', 'role'), 'alert');
  assert.equal(await page.isVisible('#startup-retry'), true);

  await page.click('#recovery-unlock');
  assert.equal(await page.textContent('#recovery-error'), 'Enter your recovery code.');
  assert.equal((await calls(page, 'unlock_history')).length, 0, 'not sent');

  await page.fill('#recovery-code-input', 'ABCD-EFGH');
  await page.press('#recovery-code-input', 'Enter');
  await page.waitForFunction(() => /52 letters and digits/.test(document.querySelector('#recovery-error')?.textContent ?? ''));

  const wrong = 'ZZZZ-'.repeat(12) + 'ZZZZ';
  await page.fill('#recovery-code-input', wrong);
  await page.click('#recovery-unlock');
  await page.waitForFunction(() => /doesn't open this history/.test(document.querySelector('#recovery-error')?.textContent ?? ''));
  assert.equal(await page.getAttribute('#recovery-code-input', 'aria-invalid'), 'true');
  assert.equal(await page.inputValue('#recovery-code-input'), wrong, 'what was typed stays, to be corrected');
  assert.equal(await focused(page), 'recovery-code-input');
  assert.equal(await page.isEnabled('#recovery-unlock'), true);
  assert.equal(await page.$('#main, #auth'), null, 'still locked');
  await screenshot(page, 'startup-locked-wrong-code-light');

  const code = await page.evaluate(() => window.__parleyMock.recoveryCode);
  await page.fill('#recovery-code-input', ` ${code.toLowerCase().replaceAll('-', ' ')} `);
  await page.click('#recovery-unlock');
  await page.waitForSelector('#main[data-connection="online"]');
  assert.deepEqual((await calls(page, 'unlock_history')).map((a) => a.recoveryCode), ['ABCD-EFGH', wrong, code.toLowerCase().replaceAll('-', ' ')]);
});

pageTest('a locked history: "Try again" goes on once the keyring has the key again', { params: { startup: 'history_locked' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="history_locked"]');
  await mock(page, 'setStartupProblem', null);
  await page.click('#startup-retry');
  await page.waitForSelector('#auth');
  assert.deepEqual(await calls(page, 'retry_startup'), [{}]);
});

pageTest('another failure: a generic screen with the words for its code, the message and "Try again"', { params: { startup: 'profile_in_use' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="profile_in_use"]');
  assert.equal(await page.textContent('#startup-title'), 'Parley could not open your profile');
  assert.match(await page.textContent('#startup'), /already running with this profile/);
  assert.match(await page.textContent('#startup-message'), /^The profile directory .* is in use/);
  assert.equal(await focused(page), 'startup-retry');
  await screenshot(page, 'startup-other-light');
  // The retry finds another problem: the screen for that one.
  await mock(page, 'setStartupProblem', 'history_locked');
  await page.click('#startup-retry');
  await page.waitForSelector('#startup[data-code="history_locked"]');
  assert.equal(await page.textContent('#startup-error'), '', 'a new screen, not "did not help"');
  assert.equal(await focused(page), 'recovery-code-input');
});

pageTest('the start-up screen in the dark theme', { params: { startup: 'keyring_unavailable', theme: 'dark' } }, async (page) => {
  await page.waitForSelector('#startup');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  const colours = await page.evaluate(() => ({
    page: getComputedStyle(document.documentElement).backgroundColor,
    card: getComputedStyle(document.querySelector('.startup-card')).backgroundColor,
    text: getComputedStyle(document.querySelector('#startup-title')).color,
  }));
  assert.deepEqual(colours, { page: 'rgb(22, 26, 34)', card: 'rgb(30, 35, 48)', text: 'rgb(232, 234, 240)' });
  await screenshot(page, 'startup-keyring-dark');
  await lockedWithCode(page, 'nope');
  await screenshot(page, 'startup-locked-dark');
});

pageTest('phone width: the start-up screens fit', { viewport: PHONE, params: { startup: 'keyring_unavailable' } }, async (page) => {
  await page.waitForSelector('#startup[data-code="keyring_unavailable"]');
  await assertFits(page, PHONE.width);
  await screenshot(page, 'startup-keyring-360');
  await lockedWithCode(page, 'ZZZZ-'.repeat(12) + 'ZZZZ');
  await assertFits(page, PHONE.width);
  const input = await page.$eval('#recovery-code-input', (i) => i.getBoundingClientRect());
  assert.ok(input.right <= PHONE.width, 'the field is on screen');
  await screenshot(page, 'startup-locked-360');
});

pageTest('phone width, dark: the locked screen', { viewport: PHONE, params: { startup: 'history_locked', theme: 'dark' } }, async (page) => {
  await page.waitForSelector('#recovery-form');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await assertFits(page, PHONE.width);
  await screenshot(page, 'startup-locked-360-dark');
});
