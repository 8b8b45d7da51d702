/**
 * How a conversation's direct channel travels (`Route`), in words: the conversation header's
 * label and its tooltip, and which of several channels (one per device of the contact) counts.
 * Pure.
 */
import type { Route } from '../types';

/** Best first: straight across the network, then through NAT, then through a TURN relay. */
const RANK: Record<Route, number> = { direct: 0, 'through-nat': 1, relayed: 2 };

/** The better of two routes (null: no channel, or the core did not say how it travels). */
export function betterRoute(a: Route | null, b: Route | null): Route | null {
  if (a === null) return b;
  if (b === null) return a;
  return RANK[a] <= RANK[b] ? a : b;
}

/** The best of the routes of the channels open to a contact's devices; null when none says. */
export function bestRoute(routes: Iterable<Route | null>): Route | null {
  let best: Route | null = null;
  for (const r of routes) best = betterRoute(best, r);
  return best;
}

export type RouteLabel = { text: string; title: string };

const LABELS: Record<Route, RouteLabel> = {
  direct: {
    text: 'Direct (same network)',
    title: 'This conversation goes straight between your two devices on the same network, end-to-end encrypted. No server carries it.',
  },
  'through-nat': {
    text: 'Direct (through NAT)',
    title: 'This conversation goes directly between your two devices across your routers (NAT), end-to-end encrypted. No server carries it.',
  },
  relayed: {
    text: 'Relayed (TURN)',
    title: 'A relay server forwards this conversation\u2019s traffic. It stays end-to-end encrypted, but the relay sees that you two are talking and how much.',
  },
};

/** The header's label for a route and the sentence that explains it; null shows none. */
export function routeLabel(route: Route | null): RouteLabel | null {
  return route === null ? null : LABELS[route];
}
