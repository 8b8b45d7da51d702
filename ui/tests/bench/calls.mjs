// The Chromium side of the call latency benchmark; started by tests/benches/calls.rs, which
// drives the WebKitGTK windows and prints the table. Talks to it in lines: what it prints
// starting with an upper-case word is for the bench, everything else is log.
//
//   → SERVER <url>            the signaling server every side uses (real-cores.mjs)
//   → RESULT3 <json>          Chromium ↔ Chromium, measured on its own first
//   ← PAIR2                   → READY2 <username>: a Chromium page waits for the app's call
//   ← START                   → STARTED: measuring (the call is up, warmed up)
//   ← STOP                    → RESULT2 <json>
//   ← END                     everything stops
//
// One browser per side, not the browser tests' one shared browser (harness.mjs): headless
// Chromium paints, and so presents video frames in, only its front page, and each side's CPU is
// then that browser's processes plus its parley-bridge.
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { activeCall, shown } from '../browser/call-probes.mjs';
import { CHROMIUM, CHROMIUM_ARGS, startVite } from '../browser/dev-server.mjs';
import { joinRoom, signUp, startRealCores } from '../browser/real-cores.mjs';

const PROBE = fileURLToPath(new URL('./call-probe.js', import.meta.url));
const seconds = Number(process.env.CALL_BENCH_SECONDS ?? 60);
const warmup = Number(process.env.CALL_BENCH_WARMUP ?? 5);

const say = (line) => process.stdout.write(`${line}\n`);
const log = (line) => process.stderr.write(`calls.mjs: ${line}\n`);

const input = createInterface({ input: process.stdin });
const lines = [];
const waiting = [];
input.on('line', (line) => {
  const next = waiting.shift();
  if (next !== undefined) next(line);
  else lines.push(line);
});
/** The next line from the bench, which must be `want`. */
async function expect(want) {
  const line = lines.shift() ?? (await new Promise((resolve) => waiting.push(resolve)));
  if (line.trim() !== want) throw new Error(`expected ${want} from the bench, got ${JSON.stringify(line)}`);
}

// --- CPU time of process trees (/proc) ---------------------------------------------------------

const parentOf = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
};
const allPids = () => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
const childrenOf = (pid) => allPids().filter((p) => parentOf(p) === pid);
function treeOf(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]));
  return out;
}
/** utime + stime in clock ticks (USER_HZ, 100 on Linux). */
function ticks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}
/** A snapshot of the CPU time of `roots` and everything below them. */
function cpuSnapshot(roots) {
  const snap = new Map();
  for (const root of roots) for (const pid of treeOf(root)) snap.set(pid, ticks(pid) ?? 0);
  return snap;
}
/** CPU seconds between two snapshots (processes started in between count whole). */
function cpuSeconds(before, after) {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum / 100;
}
/** The parley-bridge process serving `name`'s profile (real-cores.mjs keeps no handle on it). */
function bridgePid(name) {
  for (const pid of treeOf(process.pid)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'parley-bridge') continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.some((v) => v.startsWith('PARLEY_PROFILE=') && v.includes(`/${name}/profile`))) return pid;
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no parley-bridge for ${name}`);
}

// --- the pages --------------------------------------------------------------------------------

const { server, base } = await startVite();

const cores = await startRealCores(['chromium-a', 'chromium-b', 'chromium']);
say(`SERVER ${cores.server}`);

/** A side: its own browser, one page of Parley's UI over the `name` core, the probe in it. */
async function openSide(name) {
  const before = new Set(childrenOf(process.pid));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...CHROMIUM_ARGS,
      // The probe asks for the (fake) microphone once so that Chromium offers loopback candidates.
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const root = childrenOf(process.pid).find((p) => !before.has(p));
  if (root === undefined) throw new Error('cannot find the browser process');
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.addInitScript({ path: PROBE });
  page.on('pageerror', (e) => log(`${name} pageerror: ${e.message}`));
  await page.goto(`${base}/tests/browser/mock.html?bridge=${cores.bridges[name]}`);
  await signUp(page, name, cores.server);
  await joinRoom(page, 'bench');
  return { name, browser, page, pids: [root, bridgePid(name)] };
}

const contact = (username) => `#contacts [data-username="${username}"]`;

async function answer(side) {
  await side.page.waitForSelector('#incoming-call:not([hidden])', { timeout: 60_000 });
  await side.page.click('#incoming-call-answer');
  await activeCall(side.page);
}

/** Measures `sides` for `seconds`: each page's receiver figures and its side's CPU seconds. */
async function measure(sides) {
  const cpu = sides.map((s) => cpuSnapshot(s.pids));
  const taps = await Promise.all(sides.map((s) => s.page.evaluate(() => window.__latency.start())));
  return async () => {
    const results = await Promise.all(sides.map((s) => s.page.evaluate(() => window.__latency.stop())));
    return sides.map((s, i) => ({ name: s.name, ...results[i], tap: taps[i], cpuSeconds: cpuSeconds(cpu[i], cpuSnapshot(s.pids)) }));
  };
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

try {
  // Chromium ↔ Chromium, the anchor: both pages with Chromium's WebRTC.
  const a = await openSide('chromium-a');
  const b = await openSide('chromium-b');
  await a.page.waitForSelector(`${contact('chromium-b')}[data-online="true"]`);
  await a.page.click(`${contact('chromium-b')} button`);
  await a.page.click('#call-video');
  await answer(b);
  await activeCall(a.page);
  log(`Chromium ↔ Chromium: call up, warming up ${warmup} s`);
  await sleep(warmup);
  const done = await measure([a, b]);
  await sleep(seconds);
  say(`RESULT3 ${JSON.stringify(await done())}`);
  await a.page.click('#call-hang-up');
  await shown(a.page, '#call-outcome');
  await a.browser.close();
  await b.browser.close();

  // Linux app ↔ Chromium: the app calls this page.
  await expect('PAIR2');
  const c = await openSide('chromium');
  say('READY2 chromium');
  await answer(c);
  await expect('START');
  const done2 = await measure([c]);
  say('STARTED');
  await expect('STOP');
  say(`RESULT2 ${JSON.stringify(await done2())}`);
  await expect('END');
  await c.browser.close();
} catch (e) {
  log(`failed: ${e.stack ?? e}\n--- core logs ---\n${cores.log.join('').slice(-4000)}`);
  process.exitCode = 1;
} finally {
  cores.stop();
  await server.close();
  input.close();
}
