// The real npm `peerjs` client, in headless Chromium, against parley-signal's
// PeerServer-compatible endpoint. Run with `npm test` in this directory; set PARLEY_SIGNAL_BIN
// to use an already built binary instead of building it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const KEY = 'peerjs';

let signal; // the parley-signal child process
let signalPort;
let pageServer;
let pageUrl;
let browser;

function startSignal() {
  let bin = process.env.PARLEY_SIGNAL_BIN;
  if (!bin) {
    // `--workspace`: the features `cargo test --workspace` resolved, so nothing is rebuilt (`-p`
    // would resolve them for the server alone and compile much of its tree again).
    execFileSync('cargo', ['build', '--workspace', '--bin', 'parley-signal'], { cwd: repo, stdio: 'inherit' });
    const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(repo, process.env.CARGO_TARGET_DIR) : path.join(repo, 'target');
    bin = path.join(targetDir, 'debug/parley-signal');
  }
  const child = spawn(bin, ['--memory-db', '--listen', '127.0.0.1:0', '--peerjs-key', KEY], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('parley-signal did not report its address')), 20_000);
    child.once('exit', (code) => reject(new Error(`parley-signal exited early with ${code}`)));
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const match = /^parley-signal listening on http:\/\/([\d.]+):(\d+)$/.exec(line.trim());
      if (!match) return reject(new Error(`unexpected first line: ${line}`));
      resolve({ child, port: Number(match[2]) });
    });
  });
}

// Served from a different origin than the signaling server, like a real app; this also
// exercises the CORS headers on `/peerjs/{key}/id`.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>peerjs test</title>
<script>
  // This machine has a non-loopback interface; keep ICE on 127.0.0.1 so the test does not
  // depend on it.
  const addIceCandidate = RTCPeerConnection.prototype.addIceCandidate;
  RTCPeerConnection.prototype.addIceCandidate = function (candidate, ...rest) {
    const text = candidate && candidate.candidate;
    if (text && !text.includes(' 127.0.0.1 ')) return Promise.resolve();
    return addIceCandidate.call(this, candidate, ...rest);
  };
</script>
<script src="/peerjs.min.js"></script>
`;

function startPageServer() {
  const peerjs = readFileSync(path.join(here, 'node_modules/peerjs/dist/peerjs.min.js'));
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (req.url === '/peerjs.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(peerjs);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function newPage() {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(pageUrl);
  // Without a granted capture Chromium gathers no usable loopback candidate.
  await page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }));
  return page;
}

/** Creates a Peer in the page (server-assigned id unless `id` is given); resolves to its id. */
function openPeer(page, id) {
  return page.evaluate(
    ({ port, key, id }) =>
      new Promise((resolve, reject) => {
        const options = { host: '127.0.0.1', port, path: '/peerjs', key, debug: 1, config: { iceServers: [] } };
        const peer = id ? new Peer(id, options) : new Peer(options);
        window.peer = peer;
        window.received = [];
        window.errors = [];
        peer.on('error', (err) => window.errors.push(err.type));
        peer.on('connection', (conn) => {
          window.conn = conn;
          conn.on('data', (data) => window.received.push(data));
        });
        peer.once('open', resolve);
        peer.once('error', (err) => reject(new Error(`${err.type}: ${err.message}`)));
      }),
    { port: signalPort, key: KEY, id },
  );
}

before(async () => {
  ({ child: signal, port: signalPort } = await startSignal());
  pageServer = await startPageServer();
  pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--allow-loopback-in-peer-connection',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
});

after(async () => {
  await browser?.close();
  pageServer?.close();
  signal?.kill('SIGTERM');
});

test('two PeerJS clients connect through the server and exchange data both ways', async () => {
  const alice = await newPage();
  const bob = await newPage();
  const aliceId = await openPeer(alice);
  const bobId = await openPeer(bob);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(aliceId, uuid, 'server-assigned ids are uuid v4');
  assert.match(bobId, uuid);
  assert.notEqual(aliceId, bobId);

  await alice.evaluate(
    (bobId) =>
      new Promise((resolve, reject) => {
        const conn = window.peer.connect(bobId, { reliable: true });
        window.conn = conn;
        conn.on('data', (data) => window.received.push(data));
        conn.on('open', () => {
          conn.send('hello from alice');
          resolve();
        });
        conn.on('error', reject);
        setTimeout(() => reject(new Error('data channel did not open')), 15_000);
      }),
    bobId,
  );

  await bob.waitForFunction(() => window.received.length > 0, null, { timeout: 15_000 });
  assert.deepEqual(await bob.evaluate(() => window.received), ['hello from alice']);
  assert.equal(await bob.evaluate(() => window.conn.peer), aliceId, 'bob sees the server-stamped sender id');

  await bob.evaluate(() => window.conn.send({ reply: 'hello from bob', n: 2 }));
  await alice.waitForFunction(() => window.received.length > 0, null, { timeout: 15_000 });
  assert.deepEqual(await alice.evaluate(() => window.received), [{ reply: 'hello from bob', n: 2 }]);

  assert.deepEqual(await alice.evaluate(() => window.errors), []);
  assert.deepEqual(await bob.evaluate(() => window.errors), []);
  await alice.close();
  await bob.close();
});

test('a client asking for a taken id gets unavailable-id', async () => {
  const owner = await newPage();
  const id = `taken-${Date.now()}`;
  assert.equal(await openPeer(owner, id), id);

  const intruder = await newPage();
  await assert.rejects(openPeer(intruder, id), /unavailable-id: ID "taken-\d+" is taken/);

  // The owner keeps its id and its connection.
  assert.equal(await owner.evaluate(() => window.peer.open && !window.peer.disconnected), true);
  await owner.close();
  await intruder.close();
});

test('connecting to an id nobody holds ends in peer-unavailable (server EXPIRE)', async () => {
  const page = await newPage();
  await openPeer(page);
  await page.evaluate(() => window.peer.connect('nobody-here'));
  // PeerServer's default expire timeout is 5 s, swept every second.
  await page.waitForFunction(() => window.errors.includes('peer-unavailable'), null, { timeout: 10_000 });
  await page.close();
});

test('connect() with 70,000 characters of metadata opens the connection (PeerServer relays it)', async () => {
  const alice = await newPage();
  const bob = await newPage();
  await openPeer(alice);
  const bobId = await openPeer(bob);
  const sent = await alice.evaluate(
    (bobId) =>
      new Promise((resolve, reject) => {
        const note = 'é€xabcdefg'.repeat(7_000);
        const conn = window.peer.connect(bobId, { reliable: true, metadata: { note } });
        conn.on('open', () => resolve(note.length));
        conn.on('error', reject);
        setTimeout(() => reject(new Error('data channel did not open')), 15_000);
      }),
    bobId,
  );
  assert.equal(sent, 70_000);
  await bob.waitForFunction(() => window.conn && window.conn.open, null, { timeout: 15_000 });
  assert.equal(await bob.evaluate(() => window.conn.metadata.note.length), 70_000);
  assert.deepEqual(await alice.evaluate(() => window.errors), []);
  assert.deepEqual(await bob.evaluate(() => window.errors), []);
  await alice.close();
  await bob.close();
});
