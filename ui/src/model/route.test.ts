import { describe, expect, it } from 'vitest';
import { bestRoute, betterRoute, routeLabel } from './route';

describe('routes', () => {
  it('direct beats through NAT beats relayed; unknown counts for nothing', () => {
    expect(betterRoute('relayed', 'through-nat')).toBe('through-nat');
    expect(betterRoute('direct', 'relayed')).toBe('direct');
    expect(betterRoute(null, 'relayed')).toBe('relayed');
    expect(betterRoute('through-nat', null)).toBe('through-nat');
    expect(betterRoute(null, null)).toBeNull();
    expect(bestRoute(['relayed', null, 'through-nat'])).toBe('through-nat');
    expect(bestRoute([])).toBeNull();
  });

  it('labels say how, in text, with a sentence explaining it', () => {
    expect(routeLabel(null)).toBeNull();
    expect(routeLabel('direct')?.text).toBe('Direct (same network)');
    expect(routeLabel('through-nat')?.text).toBe('Direct (through NAT)');
    expect(routeLabel('relayed')).toEqual({
      text: 'Relayed (TURN)',
      title: 'A relay server forwards this conversation\u2019s traffic. It stays end-to-end encrypted, but the relay sees that you two are talking and how much.',
    });
    for (const r of ['direct', 'through-nat'] as const) expect(routeLabel(r)?.title).toMatch(/end-to-end encrypted/);
  });
});
