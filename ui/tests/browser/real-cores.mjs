// Real cores for browser tests: a `parley-signal` on loopback and one `parley-bridge` (the app's
// commands and events on Tauri's mock runtime, tests/src/bin/parley-bridge.rs) per person, each
// with its own profile. A test page opened with `?bridge=<address>` (page.ts) runs Parley's UI against
// that core. The binaries are built first (a no-op once `cargo test --workspace` built them).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { shown } from './call-probes.mjs';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');

/** Starts `binary` and resolves with the rest of the first stdout line starting with `prefix`. */
function start(binary, args, env, prefix, log) {
  const child = spawn(join(target, 'debug', binary), args, { env: { ...process.env, RUST_LOG: 'warn', PARLEY_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => log.push(`${binary}: ${d}`));
  const address = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(prefix)) resolve(line.slice(prefix.length).trim());
    });
    child.on('exit', (code) => reject(new Error(`${binary} exited (${code}) before it listened:\n${log.join('')}`)));
  });
  return { child, address };
}

/**
 * A signaling server and a bridge for each of `names`.
 * @param {string[]} names
 * @returns {Promise<{server: string, bridges: Record<string, string>, log: string[], stop: () => void}>}
 */
export async function startRealCores(names) {
  // `--workspace`: the features `cargo test --workspace` resolved, so nothing is rebuilt.
  execFileSync('cargo', ['build', '--workspace', '--bin', 'parley-signal', '--bin', 'parley-bridge'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'parley-real-cores-'));
  const log = [];
  const children = [];
  const stop = () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const signal = start('parley-signal', ['--listen', '127.0.0.1:0', '--memory-db', '--auth-per-minute', '10000'], {}, 'parley-signal listening on ', log);
    children.push(signal.child);
    const server = await signal.address;
    const bridges = {};
    for (const name of names) {
      const bridge = start(
        'parley-bridge',
        [],
        { PARLEY_PROFILE: join(dir, name, 'profile'), PARLEY_EMBEDDED_DIR: join(dir, name, 'server'), PARLEY_KEYRING: 'memory', PARLEY_ANNOUNCE: '0' },
        'PARLEY_BRIDGE ',
        log,
      );
      children.push(bridge.child);
      bridges[name] = await bridge.address;
    }
    return { server, bridges, log, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

const PASSWORD = 'correct horse battery staple';

/** Creates `name`'s account on `server` from the sign-in screen, as a person would. */
export async function signUp(page, name, server) {
  await shown(page, '#auth');
  await page.click('#tab-signup');
  await page.click('#server-url');
  await page.fill('#server-url-input', server);
  await page.fill('#signup-username', name);
  await page.fill('#signup-email', `${name}@example.org`);
  await page.fill('#signup-password', PASSWORD);
  await page.fill('#signup-display-name', name[0].toUpperCase() + name.slice(1));
  await page.click('#signup-submit');
  await page.waitForSelector(`#me[data-username="${name}"]`);
  await page.waitForSelector('#main[data-connection="online"]');
}

/** Joins `room` from the sidebar and waits until it is listed. */
export async function joinRoom(page, room) {
  await page.fill('#room-name', room);
  await page.click('#room-join');
  await page.waitForSelector(`#rooms [data-room="${room}"]`);
}
