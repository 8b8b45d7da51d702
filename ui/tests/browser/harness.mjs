// Shared set-up for the browser tests: one Vite dev server and one Chromium for the whole run,
// a fresh context and page per test.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startVite } from './dev-server.mjs';

export { CHROMIUM };

/** @type {import('vite').ViteDevServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {string} */
let base;
/** More Chromium flags for this file's tests (`useFakeMedia`): set before the browser starts. */
const extraArgs = [];

/**
 * Chromium's fake cameras and microphones (a beep), granted without asking, and sound that
 * plays without a click first. Three cameras: `fake_device_0` and `fake_device_2` show a moving
 * test pattern (I420, MJPEG); `fake_device_1` is a depth camera (Y16), whose frames WebRTC does
 * not encode — not one to switch a call to.
 * Pages in the background (two windows of a call: one is behind the other) go on rendering
 * video and running timers as the one in front does. Call at the top of a test file (the
 * browser starts before its first test).
 */
export function useFakeMedia() {
  extraArgs.push(
    '--use-fake-device-for-media-stream=device-count=3',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-renderer-backgrounding',
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-background-media-suspend',
  );
}

before(async () => {
  ({ server, base } = await startVite());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * @typedef {{session?: 'online'|'offline'|'none', history?: number, viewport?: {width: number, height: number}, path?: string,
 *   params?: Record<string, string>, colorScheme?: 'light'|'dark', init?: () => void}} AppOptions
 * `params`: more URL parameters of the mock backend (see mock-backend.ts), e.g. `{startup: 'history_locked'}`.
 * `init`: runs in the page before any of its scripts (e.g. `recordHtmlParsing`).
 */

/** The URL of the mock page with `options`' parameters. @param {AppOptions} options */
function mockUrl(options) {
  const q = new URLSearchParams();
  if (options.session !== undefined) q.set('session', options.session);
  if (options.history !== undefined) q.set('history', String(options.history));
  for (const [k, v] of Object.entries(options.params ?? {})) q.set(k, v);
  return `${base}${options.path ?? '/tests/browser/mock.html'}?${q}`;
}

/**
 * Opens the app on the mock backend in a fresh page.
 * @param {AppOptions} [options]
 */
export async function openApp(options = {}) {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1100, height: 760 }, colorScheme: options.colorScheme ?? 'light' });
  if (options.init !== undefined) await context.addInitScript(options.init);
  const page = await context.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(mockUrl(options));
  return {
    page,
    errors,
    async close() {
      await context.close();
    },
  };
}

/** Notes a page's errors (uncaught exceptions, console errors: CSP violations among them) in `errors`. */
function watchErrors(page, name, errors) {
  page.on('pageerror', (e) => errors.push(`${name} pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name} console: ${m.text()}`);
  });
}

/**
 * Several pages of the app in one browser context (they share its origin, so a BroadcastChannel
 * reaches them all: the mock cores relay call frames through one). Each page has its own
 * options (`params`, `init`: one script or several); `viewport` and `colorScheme` are the
 * context's, from the first.
 * @param {(Omit<AppOptions, 'init'> & {init?: (() => void) | (() => void)[]})[]} list
 */
export async function openApps(list) {
  const first = list[0] ?? {};
  const context = await browser.newContext({ viewport: first.viewport ?? { width: 1100, height: 760 }, colorScheme: first.colorScheme ?? 'light' });
  /** @type {string[]} */
  const errors = [];
  const pages = [];
  for (const [i, options] of list.entries()) {
    const page = await context.newPage();
    for (const init of [options.init ?? []].flat()) await page.addInitScript(init);
    watchErrors(page, `page ${i + 1}`, errors);
    await page.goto(mockUrl(options));
    pages.push(page);
  }
  return {
    pages,
    errors,
    async close() {
      await context.close();
    },
  };
}

/** Runs `body` with a fresh page and checks that nothing failed in the page (CSP included). */
export function pageTest(name, options, body) {
  test(name, async () => {
    const app = await openApp(options);
    try {
      await body(app.page, app);
      assert.deepEqual(app.errors, [], 'no errors in the page');
    } finally {
      await app.close();
    }
  });
}

/**
 * An `init` script: notes in `window.__htmlParsed` every use of the DOM's ways of parsing a
 * string as HTML (innerHTML, outerHTML, insertAdjacentHTML, setHTMLUnsafe, createContextualFragment,
 * DOMParser, document.write), so that a test can check that none was used.
 */
export function recordHtmlParsing() {
  const parsed = [];
  Object.defineProperty(window, '__htmlParsed', { value: parsed });
  const who = (node) => (node instanceof Element ? `${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ''}` : String(node));
  for (const [proto, prop] of [[Element.prototype, 'innerHTML'], [Element.prototype, 'outerHTML'], [ShadowRoot.prototype, 'innerHTML']]) {
    const d = Object.getOwnPropertyDescriptor(proto, prop);
    if (d?.set === undefined) continue;
    Object.defineProperty(proto, prop, {
      ...d,
      set(value) {
        parsed.push(`${prop} of ${who(this)}`);
        d.set.call(this, value);
      },
    });
  }
  for (const [proto, fn] of [[Element.prototype, 'insertAdjacentHTML'], [Element.prototype, 'setHTMLUnsafe'], [Range.prototype, 'createContextualFragment'], [DOMParser.prototype, 'parseFromString'], [Document.prototype, 'write']]) {
    const original = proto[fn];
    if (typeof original !== 'function') continue;
    proto[fn] = function (...args) {
      parsed.push(`${fn} on ${who(this)}`);
      return original.apply(this, args);
    };
  }
}

/** Calls `window.__parleyMock[fn](...args)` in the page. @param {import('playwright-core').Page} page */
export const mock = (page, fn, ...args) => page.evaluate(({ fn, args }) => window.__parleyMock[fn](...args), { fn, args });

/**
 * Saves a screenshot of the page as `{name}.png` in the folder `UI_SHOTS` names (for looking at
 * the layout: `UI_SHOTS=/tmp/ui-shots npm run test:browser`); does nothing when it is not set.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  const dir = process.env.UI_SHOTS;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Whether the page scrolls sideways (it must not, down to 360 px). @param {import('playwright-core').Page} page */
export const sidewaysOverflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Opens the conversation with `id` from the contact list and waits for its messages. @param {import('playwright-core').Page} page */
export async function openContact(page, id) {
  await page.click(`#contacts [data-user-id="${id}"] button`);
  await page.waitForSelector(`#conversation[data-user-id="${id}"]:not([hidden])`);
  await page.waitForFunction(() => document.querySelector('#messages')?.getAttribute('aria-busy') === 'false');
}

/** The id of the focused element. @param {import('playwright-core').Page} page */
export const focused = (page) => page.evaluate(() => document.activeElement?.id ?? null);

/** The arguments of every call of `cmd` the mock got. @param {import('playwright-core').Page} page */
export const callsOf = (page, cmd) => mock(page, 'callsOf', cmd);
