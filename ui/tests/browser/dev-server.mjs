// What the browser tests and the call benchmark (ui/tests/bench) start pages with: the UI's
// sources served by Vite, and Debian's Chromium. Free of node:test, so a script that is no
// test can import it.
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A Vite dev server for the UI's sources on a free loopback port (the tests' pages, mock.html);
 * `base` is its address.
 */
export async function startVite() {
  const server = await createServer({
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
  return { server, base: `http://127.0.0.1:${address.port}` };
}

/** The flags every test browser starts with. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

