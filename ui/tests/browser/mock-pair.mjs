// The set-up of the call tests over mock cores (calls.test.mjs, bridged-calls.test.mjs): Alice
// and Bob in two pages, online to each other, their mock cores relaying call frames (and, for
// pages without WebRTC, media records) through a BroadcastChannel of their own (mock-calls.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probe } from './call-probes.mjs';
import { openApps } from './harness.mjs';

/** `params`: more URL parameters of both mock backends; `init`: scripts run in both pages before theirs (then `probe`). */
export async function openPair({ params = {}, init = [], viewport, colorScheme } = {}) {
  const relay = `calls-${Math.random().toString(36).slice(2)}`;
  const app = await openApps([
    { session: 'online', params: { relay, ...params }, init: [...init, probe], viewport, colorScheme },
    { session: 'online', params: { relay, as: 'bob', ...params }, init: [...init, probe] },
  ]);
  const [alice, bob] = app.pages;
  await alice.waitForSelector('#contacts [data-user-id="bob"][data-online="true"]');
  await bob.waitForSelector('#contacts [data-user-id="alice"][data-online="true"]');
  return { app, alice, bob };
}

/** Runs `body` with the pair, then checks that neither page had an error. */
export function pairTest(name, options, body) {
  test(name, async () => {
    const pair = await openPair(options);
    try {
      await body(pair);
      assert.deepEqual(pair.app.errors, [], 'no errors in the pages');
    } finally {
      await pair.app.close();
    }
  });
}
