#!/usr/bin/env node
// Chromium anchor of Parley's file-transfer benchmark: sends one real file from one Chromium page
// to another over an ordered, reliable RTCDataChannel on loopback, and prints ONE JSON line:
//   {"label", "bytes", "seconds", "mb_per_s", "cpu_seconds", "cpu_seconds_per_gib", "peak_rss_mib"}
// Progress and details go to stderr. See README.md beside this file.
//
// Usage: node datachannel.mjs --file PATH [--label NAME] [--no-netns]
// Environment: CHROMIUM_PATH (default /usr/bin/chromium).
//
// By default the script re-runs itself in a new network namespace that has only a loopback
// interface (`unshare --net`, needs root or CAP_SYS_ADMIN), so that ICE can pair nothing but
// 127.0.0.1 with 127.0.0.1; --no-netns (or a failing unshare) runs in the current namespace.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TIMEOUT_MS = 10 * 60 * 1000;
const CHUNK = 256 * 1024; // Chromium's max message size; lowered to pc.sctp.maxMessageSize if smaller
const HIGH_WATER = 8 * 1024 * 1024; // keep bufferedAmount under this (Chromium closes the channel past 16 MiB)
const LOW_WATER = 2 * 1024 * 1024; // bufferedAmountLowThreshold: refill when the queue drains to this
const READ_AHEAD = 4; // chunks read from the file ahead of the one being sent
const SAMPLE_MS = 200;
const OPEN_TIMEOUT_MS = 30_000;

// Chromium flags. Playwright adds its own defaults too (--no-sandbox, --disable-background-timer-throttling,
// --disable-renderer-backgrounding, --disable-backgrounding-occluded-windows, ...).
const CHROMIUM_ARGS = [
  '--no-first-run',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebRTC leaves the loopback interface out of ICE gathering unless told otherwise. This only
  // takes effect together with the camera/microphone grant given to each context below.
  '--allow-loopback-in-peer-connection',
];

const log = (...args) => console.error('[chromium-bench]', ...args);

// ---- arguments --------------------------------------------------------------------------

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error('usage: node datachannel.mjs --file PATH [--label NAME] [--no-netns]');
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: { file: { type: 'string' }, label: { type: 'string' }, 'no-netns': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  }).values;
} catch (e) {
  usage(e.message);
}
if (args.help) usage();
if (!args.file) usage('--file is required');
const filePath = resolve(args.file);
let fileSize;
try {
  const st = statSync(filePath);
  if (!st.isFile()) usage(`${filePath} is not a regular file`);
  fileSize = st.size;
} catch (e) {
  usage(`cannot read ${filePath}: ${e.message}`);
}
if (fileSize === 0) usage(`${filePath} is empty`);
const label = args.label ?? 'chromium';

// ---- a network namespace with only loopback -------------------------------------------

const NETNS_ENV = 'PARLEY_BENCH_CHROMIUM_NETNS';
if (!args['no-netns'] && process.env[NETNS_ENV] === undefined) {
  const bringUpLo = ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
  const probe = spawnSync('unshare', [...bringUpLo, 'true'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (probe.status === 0) {
    const self = [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
    // unshare and sh exec into Node: the child's pid is this Node's, and Playwright in it closes
    // the browser on SIGINT, SIGTERM and SIGHUP, which are passed on.
    const child = spawn('unshare', [...bringUpLo, ...self], { stdio: 'inherit', env: { ...process.env, [NETNS_ENV]: '1' } });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
    const backstop = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS + 120_000); // the child has its own limit
    const code = await new Promise((res) => {
      child.on('error', (e) => {
        console.error(`[chromium-bench] error: ${e.message}`);
        res(1);
      });
      child.on('exit', (status, signal) => res(status ?? 128 + (osConstants.signals[signal] ?? 0)));
    });
    clearTimeout(backstop);
    process.exit(code);
  }
  console.error(`[chromium-bench] warning: no loopback-only network namespace (unshare: ${(probe.error?.message ?? probe.stderr ?? '').trim()}); running in the current one`);
}

// ---- /proc: CPU time and RSS of the browser and all its descendants ---------------------

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  log('getconf CLK_TCK failed; assuming 100');
}

/** Fields of /proc/PID/stat after the command name: [0] is field 3 (state), [1] ppid, [11] utime, [12] stime. */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The pids of `root` and all its descendants (found by scanning /proc/*\/stat for parent pids). */
function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let ppid;
    try {
      ppid = Number(statFields(name)[1]);
    } catch {
      continue; // gone meanwhile
    }
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** The pids whose parent is `pid`. */
function childrenOf(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Number(statFields(name)[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The browser process. `chromium.launch()` gives a Browser, which has no `process()` (only a
 * BrowserServer from `launchServer()` has one), but Playwright's driver runs inside this Node
 * process, so the browser is the chromium child that appeared during the launch.
 */
function browserProcess(childrenBefore) {
  const found = childrenOf(process.pid).filter((pid) => {
    if (childrenBefore.has(pid)) return false;
    try {
      return /chrom/i.test(readlinkSync(`/proc/${pid}/exe`));
    } catch {
      return false;
    }
  });
  if (found.length !== 1) throw new Error(`expected one new chromium child of this process, found ${found.length}`);
  return found[0];
}

/** CPU ticks (utime + stime) and VmRSS (KiB) of each process of the tree, by pid. */
function snapshot(root) {
  const procs = new Map();
  for (const pid of processTree(root)) {
    try {
      const f = statFields(pid);
      const ticks = Number(f[11]) + Number(f[12]);
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      procs.set(pid, { ticks, rssKiB: m ? Number(m[1]) : 0 });
    } catch {
      // exited between the scan and the read
    }
  }
  return procs;
}

/** Packets and bytes sent on `lo` (all of this namespace's traffic in the loopback-only namespace). */
function loopbackCounters() {
  try {
    const line = readFileSync('/proc/net/dev', 'latin1').split('\n').find((l) => l.trim().startsWith('lo:'));
    const f = line.split(':')[1].trim().split(/\s+/).map(Number);
    return { bytes: f[8], packets: f[9] };
  } catch {
    return null;
  }
}

/** Busy and total CPU ticks of the whole machine, from the first line of /proc/stat. */
function machineTicks() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** CPU ticks of this Node process (Playwright's driver runs in it). */
function ownTicks() {
  const f = statFields('self');
  return Number(f[11]) + Number(f[12]);
}

const rssMiB = (snap) => [...snap.values()].reduce((s, p) => s + p.rssKiB, 0) / 1024;

/** A short name for a Chromium process, from its command line. */
function kindOf(pid, root) {
  try {
    // Chromium rewrites its command line (setproctitle): arguments may be joined by spaces.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split(/[\0 ]/);
    const type = argv.find((a) => a.startsWith('--type='))?.slice(7);
    if (!type) return pid === root ? 'browser' : readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
    const sub = argv.find((a) => a.startsWith('--utility-sub-type='))?.slice(19);
    return sub ? `${type}:${sub}` : type;
  } catch {
    return '?';
  }
}

// ---- the pages --------------------------------------------------------------------------

const PAGE = '<!doctype html><meta charset="utf-8"><title>Parley bench</title><input type="file" id="file">';

/** Installed in both pages: peer connection, signalling hooks, sender and receiver. */
function pageSetup({ role, high, low, readAhead, chunk }) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const pending = [];
  window.bench = { pc, role };
  pc.onicecandidate = (e) => {
    if (e.candidate) window.relayCandidate(JSON.stringify(e.candidate.toJSON()));
  };
  window.addRemoteCandidate = async (json) => {
    const c = JSON.parse(json);
    if (pc.remoteDescription) await pc.addIceCandidate(c);
    else pending.push(c);
  };
  window.setRemote = async (desc) => {
    await pc.setRemoteDescription(desc);
    for (const c of pending.splice(0)) await pc.addIceCandidate(c);
  };
  let resolveOpen, rejectOpen;
  window.bench.open = new Promise((res, rej) => {
    resolveOpen = res;
    rejectOpen = rej;
  });
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed') rejectOpen(new Error(`${role}: peer connection failed`));
  };
  const useChannel = (dc) => {
    dc.binaryType = 'arraybuffer';
    window.bench.dc = dc;
    dc.onopen = () => resolveOpen();
    if (dc.readyState === 'open') resolveOpen();
  };

  if (role === 'sender') {
    useChannel(pc.createDataChannel('file', { ordered: true })); // reliable: no maxRetransmits / maxPacketLifeTime
    window.makeOffer = async () => {
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription.toJSON();
    };
    window.sendFile = async () => {
      const file = document.getElementById('file').files[0];
      if (!file) throw new Error('no file in the <input type=file>');
      const dc = window.bench.dc;
      const max = pc.sctp?.maxMessageSize ?? chunk;
      const size = Math.min(chunk, max > 0 ? max : chunk);
      dc.bufferedAmountLowThreshold = low;
      let failure = null;
      let wake = null;
      const fail = (why) => {
        failure ??= new Error(why);
        wake?.();
      };
      dc.addEventListener('close', () => fail('data channel closed while sending'));
      dc.addEventListener('error', (e) => fail(`data channel error: ${e.error?.message ?? e.type}`));
      dc.addEventListener('bufferedamountlow', () => wake?.());

      const reads = [];
      let next = 0;
      const readMore = () => {
        while (next < file.size && reads.length < readAhead) {
          reads.push(file.slice(next, next + size).arrayBuffer());
          next += size;
        }
      };
      const t0 = performance.timeOrigin + performance.now(); // the first chunk's read included
      readMore();
      let sent = 0;
      while (reads.length > 0) {
        const buf = await reads.shift();
        readMore();
        while (dc.bufferedAmount + buf.byteLength > high && !failure) {
          await new Promise((r) => (wake = r));
          wake = null;
        }
        if (failure) throw failure;
        dc.send(buf);
        sent += buf.byteLength;
      }
      return { t0, sent, chunk: size, maxMessageSize: max, fileName: file.name, fileSize: file.size };
    };
  } else {
    pc.ondatachannel = (e) => {
      const dc = e.channel;
      useChannel(dc);
      let expected = 0;
      let received = 0;
      let nextReport = 0;
      let resolveDone, rejectDone;
      window.bench.done = new Promise((res, rej) => {
        resolveDone = res;
        rejectDone = rej;
      });
      window.expect = (n) => {
        expected = n;
        nextReport = Math.ceil(n / 10);
      };
      dc.onmessage = (m) => {
        received += m.data.byteLength;
        if (received >= nextReport && received < expected) {
          window.reportProgress(received);
          nextReport += Math.ceil(expected / 10);
        }
        if (received === expected) resolveDone({ t1: performance.timeOrigin + performance.now(), received });
        else if (received > expected) rejectDone(new Error(`received ${received} bytes, more than the ${expected} expected`));
      };
      dc.onclose = () => {
        if (received < expected) rejectDone(new Error(`data channel closed after ${received} of ${expected} bytes`));
      };
    };
  }
}

/** Keeps only UDP candidates on 127.0.0.1: the transfer must stay on loopback. */
function loopbackOnly(json) {
  const c = JSON.parse(json);
  const parts = (c.candidate ?? '').split(' '); // candidate:F 1 udp PRIO ADDRESS PORT typ host ...
  return parts.length > 7 && parts[2].toLowerCase() === 'udp' && parts[4] === '127.0.0.1';
}

/** Sets both pages up, signals, waits for the open channel; returns the selected ICE pair of each. */
async function connect(a, b, dropped) {
  const params = { high: HIGH_WATER, low: LOW_WATER, readAhead: READ_AHEAD, chunk: CHUNK };
  await a.evaluate(pageSetup, { role: 'sender', ...params });
  await b.evaluate(pageSetup, { role: 'receiver', ...params });

  // Signalling: offer from A, answer from B; candidates are relayed as they come (relayCandidate).
  const offer = await a.evaluate(() => window.makeOffer());
  const answer = await b.evaluate(async (o) => {
    await window.setRemote(o);
    await window.bench.pc.setLocalDescription(await window.bench.pc.createAnswer());
    return window.bench.pc.localDescription.toJSON();
  }, offer);
  await a.evaluate((d) => window.setRemote(d), answer);
  let openTimer;
  await Promise.race([
    Promise.all([a.evaluate(() => window.bench.open), b.evaluate(() => window.bench.open)]),
    new Promise((_, reject) => {
      openTimer = setTimeout(() => reject(new Error(`the data channel did not open within ${OPEN_TIMEOUT_MS / 1000} s (${dropped.length} candidate(s) not UDP on 127.0.0.1 dropped)`)), OPEN_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(openTimer));
  log(`dropped ${dropped.length} candidate(s) not UDP on 127.0.0.1`);
  const selectedPair = async () => {
    const stats = await window.bench.pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const p = stats.get(s.selectedCandidatePairId);
        const l = stats.get(p.localCandidateId);
        const r = stats.get(p.remoteCandidateId);
        return { local: `${l.candidateType} ${l.protocol} ${l.address}:${l.port}`, remote: `${r.candidateType} ${r.protocol} ${r.address ?? '?'}:${r.port}` };
      }
    }
    return { local: 'none', remote: 'none' };
  };
  return [await a.evaluate(selectedPair), await b.evaluate(selectedPair)];
}

// ---- main -------------------------------------------------------------------------------

async function run(state) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  state.server = server;
  await new Promise((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res));
  const url = `http://127.0.0.1:${server.address().port}/`;

  // Is the machine quiet? Other work on the same cores lowers the figures a lot.
  const m0 = machineTicks();
  await new Promise((r) => setTimeout(r, 1000));
  const m1 = machineTicks();
  const busy = (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total);
  if (busy > 0.15) log(`warning: the machine was ${(busy * 100).toFixed(0)}% busy before the run (load average ${loadavg()[0].toFixed(2)}): other work lowers the figures`);

  const childrenBefore = new Set(childrenOf(process.pid));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  state.browser = browser;
  const browserPid = browserProcess(childrenBefore);
  log(`Chromium ${browser.version()} (pid ${browserPid}), file ${filePath} (${fileSize} bytes), ${CLK_TCK} ticks/s, ${process.env[NETNS_ENV] ? 'loopback-only network namespace' : 'current network namespace'}`);

  // Two contexts: two renderer processes, as between two real peers' tabs.
  const pages = {};
  for (const role of ['sender', 'receiver']) {
    const context = await browser.newContext();
    // Without a camera/microphone permission a page may not enumerate network interfaces: it gets
    // only the default route's address, hidden behind an mDNS name. With it (as in a video call),
    // all interfaces are gathered with their real addresses, loopback included. No device is opened.
    await context.grantPermissions(['microphone', 'camera'], { origin: url.slice(0, -1) });
    const page = await context.newPage();
    page.on('console', (m) => log(`${role} console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log(`${role} page error: ${e.message}`));
    page.on('crash', () => state.fail?.(new Error(`${role} page crashed`)));
    pages[role] = page;
  }
  const { sender: a, receiver: b } = pages;
  const other = { sender: b, receiver: a };
  const dropped = [];
  for (const [role, page] of Object.entries(pages)) {
    await page.exposeFunction('relayCandidate', async (json) => {
      if (!loopbackOnly(json)) {
        dropped.push(JSON.parse(json).candidate);
        return;
      }
      log(`${role} candidate: ${JSON.parse(json).candidate}`);
      await other[role].evaluate((j) => window.addRemoteCandidate(j), json).catch((e) => log(`relay failed: ${e.message}`));
    });
  }
  await b.exposeFunction('reportProgress', (n) => log(`received ${(n / 2 ** 20).toFixed(0)} MiB of ${(fileSize / 2 ** 20).toFixed(0)} MiB`));

  // Connects the two pages; tries again (fresh pages) if ICE picked anything but 127.0.0.1 on both
  // ends, which can happen outside the loopback-only namespace.
  for (let attempt = 1; ; attempt++) {
    dropped.length = 0;
    await Promise.all([a.goto(url), b.goto(url)]);
    const pairs = await connect(a, b, dropped);
    log(`data channel open; selected pair: sender ${pairs[0].local} -> ${pairs[0].remote}, receiver ${pairs[1].local} -> ${pairs[1].remote}`);
    const loopbackPair = (p) => /^host udp 127\.0\.0\.1:/.test(p.local) && /^host udp 127\.0\.0\.1:/.test(p.remote);
    if (pairs.every(loopbackPair)) break;
    if (attempt === 5) throw new Error('ICE never selected 127.0.0.1 <-> 127.0.0.1 (a peer-reflexive candidate from another interface won); run as root for the loopback-only network namespace');
    log(`not a loopback pair; connecting again (attempt ${attempt + 1})`);
  }

  await a.setInputFiles('#file', filePath); // a local browser gets the path: no copy
  await b.evaluate((n) => window.expect(n), fileSize);

  // Measure: CPU before the first chunk, RSS every 200 ms, CPU again when B has everything.
  const loBefore = loopbackCounters();
  const machineBefore = machineTicks();
  const ownBefore = ownTicks();
  const before = snapshot(browserPid);
  const kinds = new Map([...before.keys()].map((pid) => [pid, kindOf(pid, browserPid)]));
  let peakRss = rssMiB(before);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMiB(snapshot(browserPid)));
  }, SAMPLE_MS);
  state.sampler = sampler;
  const wall0 = performance.now();
  const [sent, done] = await Promise.all([a.evaluate(() => window.sendFile()), b.evaluate(() => window.bench.done)]);
  const after = snapshot(browserPid);
  const ownCpu = (ownTicks() - ownBefore) / CLK_TCK;
  const machineCpu = (machineTicks().busy - machineBefore.busy) / CLK_TCK;
  const loAfter = loopbackCounters();
  const wall = (performance.now() - wall0) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssMiB(after));

  if (sent.sent !== fileSize || done.received !== fileSize) throw new Error(`sent ${sent.sent}, received ${done.received}, file has ${fileSize} bytes`);
  let ticks = 0;
  const byKind = new Map();
  for (const [pid, p] of after) {
    const d = p.ticks - (before.get(pid)?.ticks ?? 0);
    ticks += d;
    const k = kinds.get(pid) ?? kindOf(pid, browserPid);
    byKind.set(k, (byKind.get(k) ?? 0) + d);
  }
  const gone = [...before.keys()].filter((pid) => !after.has(pid));
  if (gone.length > 0) log(`warning: ${gone.length} process(es) exited during the transfer (${gone.map((pid) => `${pid} ${kinds.get(pid)}`).join(', ')}); their CPU time after the start is not counted`);
  const cpu = ticks / CLK_TCK;
  const seconds = (done.t1 - sent.t0) / 1000;
  log(`chunk ${sent.chunk} B (maxMessageSize ${sent.maxMessageSize}), ${after.size} processes, wall clock in node ${wall.toFixed(3)} s`);
  log(`CPU by process: ${[...byKind].map(([k, t]) => `${k} ${(t / CLK_TCK).toFixed(2)} s`).join(', ')}`);
  log(`RSS before ${rssMiB(before).toFixed(1)} MiB, after ${rssMiB(after).toFixed(1)} MiB`);
  const otherCpu = machineCpu - cpu - ownCpu;
  log(`CPU of this Node process (Playwright, sampling; not counted) ${ownCpu.toFixed(2)} s; of other processes on the machine ${otherCpu.toFixed(2)} s`);
  if (otherCpu > 0.1 * seconds) log(`warning: other processes used ${otherCpu.toFixed(2)} CPU s during the ${seconds.toFixed(1)} s transfer: the figures are disturbed`);
  if (process.env[NETNS_ENV] && loBefore && loAfter) {
    const packets = loAfter.packets - loBefore.packets;
    const bytes = loAfter.bytes - loBefore.bytes;
    log(`on lo: ${packets} packets, ${bytes} bytes (${(bytes / packets).toFixed(0)} B per packet with IP/UDP headers, ${(bytes / fileSize).toFixed(3)} bytes per file byte, both directions)`);
  }

  const round = (x, n) => Number(x.toFixed(n));
  return {
    label,
    bytes: fileSize,
    seconds: round(seconds, 3),
    mb_per_s: round(fileSize / 1e6 / seconds, 2),
    cpu_seconds: round(cpu, 2),
    cpu_seconds_per_gib: round(cpu / (fileSize / 2 ** 30), 2),
    peak_rss_mib: round(peakRss, 1),
  };
}

const state = {};
let timer;
// Playwright closes the browser on these signals; this only says so and sets the exit code.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => (state.signal ??= signal));
try {
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS / 60000} minutes`)), TIMEOUT_MS);
  });
  const failed = new Promise((_, reject) => (state.fail = reject));
  const result = await Promise.race([run(state), timeout, failed]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (e) {
  if (state.signal) {
    console.error(`[chromium-bench] error: interrupted by ${state.signal}`);
    process.exitCode = 128 + (osConstants.signals[state.signal] ?? 0);
  } else {
    console.error(`[chromium-bench] error: ${e?.message ?? e}`);
    process.exitCode = 1;
  }
} finally {
  clearTimeout(timer);
  clearInterval(state.sampler);
  await state.browser?.close().catch((e) => log(`closing the browser failed: ${e.message}`));
  state.server?.close();
  state.server?.closeAllConnections?.();
}
