// Browser tests of a server's connection: the sign-in screen's questions (a certificate no
// authority vouches for, one that changed, plain http to another computer), invites, the port of
// an unreachable server, and Settings → "Let others join", against the mock backend in Chromium.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, pageTest, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
/** The mock's LAN server certificate (mock-backend.ts), as the core groups it. */
const LAN_CERT = '3F2A 91BC 0D4E 5F60 7182 93A4 B5C6 D7E8 F90A 1B2C 3D4E 5F60 7182 93A4 B5C6 D7E8';
/** An invite to the mock's LAN server with its certificate (base64url of LAN_CERT). */
const LAN_INVITE = 'parley://join?server=https%3A%2F%2F192.168.1.20%3A7891&fp=PyqRvA1OX2BxgpOktcbX6PkKGyw9Tl9gcYKTpLXG1-g';

/** Fills the sign-in form for Alice with `server` as the other server. @param {import('playwright-core').Page} page */
async function signInTo(page, server) {
  await page.waitForSelector('#auth');
  await page.check('#server-url');
  await page.fill('#server-url-input', server);
  await page.fill('#signin-login', 'alice');
  await page.fill('#signin-password', 'correct horse');
  await page.click('#signin-submit');
}

/** Waits for the question `kind` on the sign-in screen. @param {import('playwright-core').Page} page */
const question = (page, kind) => page.waitForSelector(`#auth-server-question[data-question="${kind}"]:not([hidden])`);

/** The button named exactly `name` (its accessible name). @param {import('playwright-core').Page} page */
const button = (page, name) => page.getByRole('button', { name, exact: true });

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

// --- the sign-in screen ------------------------------------------------------------------

pageTest('the server field takes an address or an invite, and an invite signs in with its certificate pinned', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  assert.equal(await page.getAttribute('#server-url-input', 'placeholder'), 'Address or invite');
  assert.match(await page.textContent('#server-url-hint'), /or an invite \(parley:\/\/join\?…\)/);
  await signInTo(page, `  ${LAN_INVITE} `);
  await page.waitForSelector('#main[data-connection="online"]');
  assert.deepEqual((await callsOf(page, 'sign_in')).at(-1).server, { kind: 'url', url: LAN_INVITE }, 'the invite goes whole to the core');
  assert.equal((await callsOf(page, 'trust_server')).length, 0, 'nothing to ask: the invite names the certificate');
});

pageTest('a malformed invite is said in words, at the server field', { session: 'none' }, async (page) => {
  await signInTo(page, 'parley://join?server=https%3A%2F%2F192.168.1.20%3A7891');
  await page.waitForFunction(() => document.querySelector('#auth-error')?.textContent !== '');
  assert.equal(await page.textContent('#auth-error'), "That invite can't be used: the invite has no certificate fingerprint (fp=…). Copy the whole invite again from the server's owner.");
  assert.equal(await page.getAttribute('#server-url-input', 'aria-invalid'), 'true');
  assert.equal(await focused(page), 'server-url-input');
  assert.equal(await page.isVisible('#auth-server-question'), false);
});

pageTest('a certificate no authority vouches for: compare, Cancel, then Trust this server signs in', { session: 'none' }, async (page) => {
  await signInTo(page, '192.168.1.20:7891');
  await question(page, 'untrusted_certificate');
  const text = await page.textContent('#auth-server-question');
  assert.match(text, /Check this server’s certificate/);
  assert.match(text, /No certificate authority vouches for the certificate of 192\.168\.1\.20:7891/);
  assert.match(text, /Settings → Let others join, or what parley-signal printed/);
  // The fingerprint: grouped, monospace, selectable as a whole, each group unbroken.
  assert.equal(await page.textContent('#auth-fingerprint'), LAN_CERT);
  const look = await page.$eval('#auth-fingerprint', (c) => ({ font: getComputedStyle(c).fontFamily, select: getComputedStyle(c).userSelect }));
  assert.match(look.font, /mono/i);
  assert.equal(look.select, 'all');
  assert.equal(await page.textContent('#auth-error'), '', 'a question, not an error line');
  assert.equal(await page.isVisible('#signin-submit'), false, 'its own buttons answer it');
  assert.equal(await focused(page), 'auth-server-question');
  assert.equal(await button(page, 'Trust this server').count(), 1);
  assert.equal((await callsOf(page, 'trust_server')).length, 0, 'nothing trusted before the person says so');

  // Cancel: the question goes, the form is as it was.
  await button(page, 'Cancel').click();
  await page.waitForSelector('#auth-server-question', { state: 'hidden' });
  assert.equal(await page.isVisible('#signin-submit'), true);
  assert.equal(await focused(page), 'server-url-input');
  assert.equal((await callsOf(page, 'trust_server')).length, 0);

  // Asked again; this time trusted: the same sign-in goes again, and works.
  await page.click('#signin-submit');
  await question(page, 'untrusted_certificate');
  await button(page, 'Trust this server').click();
  await page.waitForSelector('#main[data-connection="online"]');
  assert.deepEqual(await callsOf(page, 'trust_server'), [{ url: 'https://192.168.1.20:7891', fingerprint: `sha256:${LAN_CERT}` }]);
  const signIns = await callsOf(page, 'sign_in');
  assert.equal(signIns.length, 3);
  assert.deepEqual(signIns.at(-1), { server: { kind: 'url', url: 'https://192.168.1.20:7891' }, login: 'alice', password: 'correct horse' });
});

pageTest('creating an account on a server to trust: the same question, the sign-up retried', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  await page.click('#tab-signup');
  await page.check('#server-url');
  await page.fill('#server-url-input', 'https://192.168.1.20:7891');
  await page.fill('#signup-username', 'dave');
  await page.fill('#signup-email', 'dave@example.org');
  await page.fill('#signup-password', 'long enough');
  await page.click('#signup-submit');
  await question(page, 'untrusted_certificate');
  assert.equal(await page.isVisible('#signup-submit'), false);
  // Another address: the question was about the other one, so it goes.
  await page.fill('#server-url-input', 'https://192.168.1.21:7891');
  await page.waitForSelector('#auth-server-question', { state: 'hidden' });
  assert.equal(await page.isVisible('#signup-submit'), true);
  await page.fill('#server-url-input', 'https://192.168.1.20:7891');
  await page.click('#signup-submit');
  await question(page, 'untrusted_certificate');
  await button(page, 'Trust this server').click();
  await page.waitForSelector('#main[data-connection="online"]');
  assert.equal(await page.getAttribute('#me', 'data-username'), 'dave');
  assert.deepEqual((await callsOf(page, 'trust_server')).at(-1), { url: 'https://192.168.1.20:7891', fingerprint: `sha256:${LAN_CERT}` });
  assert.equal((await callsOf(page, 'sign_up')).length, 3, 'asked, asked again, then after trusting');
});

pageTest('a changed certificate is refused: why, what to do, and no way to trust it from here', { session: 'none' }, async (page) => {
  await signInTo(page, '192.168.1.66:7891');
  await question(page, 'certificate_changed');
  const text = await page.textContent('#auth-server-question');
  assert.match(text, /This server’s certificate has changed/);
  assert.match(await page.textContent('#auth-server-question .question-warning'), /Someone may be posing as this server.*refused to connect/);
  // The core's message, as text.
  assert.match(await page.textContent('#auth-server-question .question-detail'), /^https:\/\/192\.168\.1\.66:7891 presented a different certificate from the one trusted for it \(expected sha256:0123 4567/);
  assert.match(text, /ask them for a new invite/);
  assert.equal(await button(page, 'Trust this server').count(), 0, 'no one-click trust');
  assert.equal(await page.isVisible('#auth-server-confirm'), false);
  await button(page, 'Close').click();
  await page.waitForSelector('#auth-server-question', { state: 'hidden' });
  assert.equal((await callsOf(page, 'trust_server')).length, 0);
  assert.equal(await page.$('#main'), null, 'not signed in');
});

pageTest('plain http to another computer: the risk in words, then Sign in without encryption', { session: 'none' }, async (page) => {
  await signInTo(page, 'http://192.168.1.30:7890');
  await question(page, 'plain_http');
  const text = await page.textContent('#auth-server-question');
  assert.match(text, /Sign in without encryption\?/);
  assert.match(text, /192\.168\.1\.30:7890 is another computer.*nothing sent to it is encrypted/);
  assert.match(text, /can read your password and see who you talk to and when/);
  assert.equal(await page.isVisible('#auth-fingerprint'), false, 'no certificate to compare');
  assert.equal((await callsOf(page, 'allow_plain_http')).length, 0);
  await button(page, 'Sign in without encryption').click();
  await page.waitForSelector('#main[data-connection="online"]');
  assert.deepEqual(await callsOf(page, 'allow_plain_http'), [{ url: 'http://192.168.1.30:7890' }]);
  assert.equal((await callsOf(page, 'sign_in')).length, 2);
});

pageTest('plain http when creating an account: its own wording, and Cancel agrees to nothing', { session: 'none' }, async (page) => {
  await page.waitForSelector('#auth');
  await page.click('#tab-signup');
  await page.check('#server-url');
  await page.fill('#server-url-input', 'http://10.0.0.7:7890');
  await page.fill('#signup-username', 'erin');
  await page.fill('#signup-email', 'erin@example.org');
  await page.fill('#signup-password', 'long enough');
  await page.click('#signup-submit');
  await question(page, 'plain_http');
  assert.equal(await page.textContent('#auth-server-question-title'), 'Create an account without encryption?');
  assert.equal(await button(page, 'Create account without encryption').count(), 1);
  await button(page, 'Cancel').click();
  await page.waitForSelector('#auth-server-question', { state: 'hidden' });
  assert.equal((await callsOf(page, 'allow_plain_http')).length, 0);
  // Switching tabs takes a question away too.
  await page.click('#signup-submit');
  await question(page, 'plain_http');
  await page.click('#tab-signin');
  await page.waitForSelector('#auth-server-question', { state: 'hidden' });
  assert.equal(await page.isVisible('#signin-submit'), true);
});

pageTest('an unreachable server on another computer: the port its firewall must let in', { session: 'none' }, async (page) => {
  await signInTo(page, 'unreachable.lan:7891');
  await page.waitForFunction(() => /reach the server/.test(document.querySelector('#auth-error')?.textContent ?? ''));
  assert.equal(await page.textContent('#auth-error-detail'), 'If the server is on another computer, its firewall must let in TCP port 7891.');
  // An invite's server: its port.
  await page.fill('#server-url-input', 'parley://join?server=https%3A%2F%2Funreachable.lan%3A7892&fp=PyqRvA1OX2BxgpOktcbX6PkKGyw9Tl9gcYKTpLXG1-g');
  await page.click('#signin-submit');
  await page.waitForFunction(() => /7892/.test(document.querySelector('#auth-error-detail')?.textContent ?? ''));
  // No port given: https's own.
  await page.fill('#server-url-input', 'unreachable.example.org');
  await page.click('#signin-submit');
  await page.waitForFunction(() => /TCP port 443\.$/.test(document.querySelector('#auth-error-detail')?.textContent ?? ''));
  // This computer: nothing in between, no firewall line.
  await mock(page, 'failNext', 'sign_in', 'server_unreachable', 'connection refused');
  await page.fill('#server-url-input', 'localhost:8080');
  await page.click('#signin-submit');
  await page.waitForFunction(() => (document.querySelector('#auth-error')?.textContent ?? '').startsWith("Can't reach the server"));
  assert.equal(await page.$('#auth-error-detail'), null);
});

// --- Settings: Let others join -----------------------------------------------------------

/** Opens Settings and waits for the sharing state to be read. @param {import('playwright-core').Page} page */
async function openSettings(page) {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#settings-sharing')?.dataset.sharing !== undefined && document.querySelector('#settings-sharing')?.getAttribute('aria-busy') === null);
}

pageTest('Settings: Let others join shows the port, fingerprint, invites and QR code; Copy invite; off hides them', { session: 'online' }, async (page) => {
  await openSettings(page);
  await page.waitForFunction(() => document.querySelector('#settings-let-others-join')?.disabled === false);
  const toggle = page.getByRole('switch', { name: 'Let others join', exact: true });
  assert.equal(await toggle.count(), 1);
  assert.equal(await toggle.isChecked(), false);
  assert.equal(await page.isVisible('#settings-sharing-details'), false);
  assert.ok((await callsOf(page, 'sharing')).length >= 1, 'the state is read on opening');

  await toggle.click();
  await page.waitForSelector('#settings-sharing-details:not([hidden])');
  assert.deepEqual(await callsOf(page, 'set_sharing'), [{ on: true }]);
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await page.textContent('#settings-sharing-port'), 'Others join on port 7891 (TCP); allow it in this computer’s firewall if asked.');
  assert.equal(await page.textContent('#settings-sharing-fingerprint'), LAN_CERT);
  assert.match(await page.$eval('#settings-sharing-fingerprint', (c) => getComputedStyle(c).fontFamily), /mono/i);
  const rows = await page.$$eval('#settings-sharing-invites li', (ls) => ls.map((l) => ({ address: l.querySelector('.invite-address')?.textContent, invite: l.querySelector('.invite')?.textContent })));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], { address: '192.168.1.20:7891', invite: LAN_INVITE });
  assert.equal(rows[2].address, '[fd12:3456:789a:1:a1b2:c3d4:e5f6:789a]:7891');
  assert.equal(await button(page, 'Copy invite').count(), 3);
  const qr = await page.$eval('#settings-sharing-qr', (img) => ({ src: img.getAttribute('src'), alt: img.alt, loaded: img.complete && img.naturalWidth > 0 }));
  assert.match(qr.src, /^data:image\/svg\+xml;base64,/);
  assert.equal(qr.alt, 'QR code of the invite');
  assert.equal(qr.loaded, true);

  // Copy: the second invite, through the clipboard.
  await fakeClipboard(page);
  await button(page, 'Copy invite').nth(1).click();
  await page.waitForFunction(() => /^Invite copied/.test(document.querySelector('#settings-sharing-status')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => window.__copied), rows[1].invite);
  // A clipboard that refuses: the invite is selected for Ctrl+C, and the page says so.
  await fakeClipboard(page, true);
  await button(page, 'Copy invite').first().click();
  await page.waitForFunction(() => /couldn't copy it/.test(document.querySelector('#settings-sharing-status')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => document.getSelection()?.toString()), LAN_INVITE);

  // Saving the form keeps the switch's setting (it is not the form's to undo).
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  assert.equal((await callsOf(page, 'set_settings')).at(-1).settings.let_others_join, true);

  await toggle.click();
  await page.waitForSelector('#settings-sharing-details', { state: 'hidden' });
  assert.deepEqual((await callsOf(page, 'set_sharing')).at(-1), { on: false });
  assert.equal(await toggle.isChecked(), false);
  await page.click('#settings-save');
  await page.waitForFunction(() => document.querySelector('#settings-message')?.textContent === 'Settings saved.');
  assert.equal((await callsOf(page, 'set_settings')).at(-1).settings.let_others_join, false);
});

pageTest('Settings: sharing that is on shows as on when Settings opens', { session: 'online', params: { sharing: '1' } }, async (page) => {
  await openSettings(page);
  await page.waitForSelector('#settings-sharing-details:not([hidden])');
  assert.equal(await page.isChecked('#settings-let-others-join'), true);
  assert.equal(await page.$$eval('#settings-sharing-invites li', (l) => l.length), 3);
  assert.equal((await callsOf(page, 'set_sharing')).length, 0, 'only read');
});

pageTest('Settings: another window hosting the server is said by the switch, which goes back to off', { session: 'online', params: { hosting: '0' } }, async (page) => {
  await openSettings(page);
  await page.waitForFunction(() => document.querySelector('#settings-let-others-join')?.disabled === false);
  await page.click('#settings-let-others-join');
  await page.waitForFunction(() => document.querySelector('#settings-sharing-error')?.textContent !== '');
  assert.match(await page.textContent('#settings-sharing-error'), /^Another Parley window on this computer runs the server of “This device”/);
  assert.equal(await page.getAttribute('#settings-sharing-error', 'role'), 'alert');
  assert.equal(await page.isChecked('#settings-let-others-join'), false);
  assert.equal(await page.isDisabled('#settings-let-others-join'), false, 'it can be tried again');
  assert.equal(await page.isVisible('#settings-sharing-details'), false);
  await screenshot(page, 'settings-sharing-not-hosting-light');
  // That window closed: it works now, and the error goes.
  await mock(page, 'setHosting', true);
  await page.click('#settings-let-others-join');
  await page.waitForSelector('#settings-sharing-details:not([hidden])');
  assert.equal(await page.textContent('#settings-sharing-error'), '');
});

pageTest('Settings: signed in to another server, the switch is off and disabled with why', { session: 'none' }, async (page) => {
  await signInTo(page, 'chat.example.org');
  await openSettings(page);
  assert.equal(await page.isDisabled('#settings-let-others-join'), true);
  assert.equal(await page.isChecked('#settings-let-others-join'), false);
  assert.match(await page.textContent('#settings-sharing-unavailable'), /Only for “This device”: you are signed in to another server/);
  assert.equal(await page.isVisible('#settings-sharing-unavailable'), true);
});

// --- how it looks: light and dark, wide and narrow ---------------------------------------

for (const theme of ['light', 'dark']) {
  for (const [size, viewport] of [['wide', { width: 1100, height: 760 }], ['phone', PHONE]]) {
    pageTest(`the server questions and the sharing section fit, ${theme}, ${size}`, { session: 'none', viewport, params: { theme } }, async (page) => {
      const fits = async (what) => assert.ok((await sidewaysOverflow(page)) <= 0, `${what}: no sideways scrolling`);
      const inView = async (selector) => {
        const box = await page.$eval(selector, (b) => b.getBoundingClientRect().toJSON());
        assert.ok(box.left >= 0 && box.right <= viewport.width, `${selector} is within the window: ${JSON.stringify(box)}`);
      };
      const shot = (name) => screenshot(page, `${name}-${theme}-${size}`);
      await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
      await signInTo(page, '192.168.1.20:7891');
      await question(page, 'untrusted_certificate');
      await fits('trust question');
      await inView('#auth-server-confirm');
      await inView('#auth-server-cancel');
      await inView('#auth-fingerprint');
      await page.$eval('#auth-server-question', (q) => q.scrollIntoView({ block: 'center' }));
      await shot('signin-trust');
      await button(page, 'Cancel').click();

      await page.fill('#server-url-input', 'http://192.168.1.30:7890');
      await page.click('#signin-submit');
      await question(page, 'plain_http');
      await fits('plain http question');
      await inView('#auth-server-confirm');
      await page.$eval('#auth-server-question', (q) => q.scrollIntoView({ block: 'center' }));
      await shot('signin-plain-http');
      await button(page, 'Cancel').click();

      await page.fill('#server-url-input', '192.168.1.66:7891');
      await page.click('#signin-submit');
      await question(page, 'certificate_changed');
      await fits('changed certificate');
      await page.$eval('#auth-server-question', (q) => q.scrollIntoView({ block: 'center' }));
      await shot('signin-cert-changed');
      await button(page, 'Close').click();

      await page.check('#server-embedded');
      await page.click('#signin-submit');
      await openSettings(page);
      await page.waitForFunction(() => document.querySelector('#settings-let-others-join')?.disabled === false);
      await page.click('#settings-let-others-join');
      await page.waitForSelector('#settings-sharing-details:not([hidden])');
      await fits('sharing section');
      for (const sel of ['#settings-sharing-invites li:last-child .invite', '#settings-sharing-invites li:last-child .copy-invite', '#settings-sharing-fingerprint', '#settings-sharing-qr']) await inView(sel);
      await page.$eval('#settings-sharing', (s) => s.scrollIntoView({ block: 'start' }));
      await shot('settings-sharing');
      await page.$eval('#settings-sharing-qr', (s) => s.scrollIntoView({ block: 'end' }));
      await shot('settings-sharing-qr');
    });
  }
}
