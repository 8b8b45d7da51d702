// Shared set-up for the browser tests: one Vite dev server and one Chromium for the whole run,
// a fresh context and page per test.
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** @type {import('vite').ViteDevServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {string} */
let base;

before(async () => {
  server = await createServer({
    root,
    configFile: false,
    logLevel: 'error',
    clearScreen: false,
    cacheDir: fileURLToPath(new URL('../../node_modules/.vite-browser-tests', import.meta.url)),
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    // Serve @tauri-apps/api as it is (it is ESM): no pre-bundling, so no reload mid-test.
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('no server address');
  base = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * Opens the app on the mock backend in a fresh page.
 * @param {{session?: 'online'|'offline'|'none', history?: number, viewport?: {width: number, height: number}, path?: string}} [options]
 */
export async function openApp(options = {}) {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1100, height: 760 } });
  const page = await context.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const q = new URLSearchParams();
  if (options.session !== undefined) q.set('session', options.session);
  if (options.history !== undefined) q.set('history', String(options.history));
  await page.goto(`${base}${options.path ?? '/tests/browser/mock.html'}?${q}`);
  return {
    page,
    errors,
    async close() {
      await context.close();
    },
  };
}
