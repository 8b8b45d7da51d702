import { describe, expect, it } from 'vitest';
import { canAccept, canVerify, deviceState, numberGroups, svgDataUrl, trustOf, verifyLabel } from './safety';
import { safetyNumber } from './test-fixtures';

const NUMBER = '30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131';

describe('trustOf', () => {
  it('sums up the devices', () => {
    expect(trustOf(null)).toBe('unknown');
    expect(trustOf([])).toBe('unmet');
    expect(trustOf([safetyNumber()])).toBe('unverified');
    expect(trustOf([safetyNumber({ verified: true })])).toBe('verified');
    // A device added after verifying is pinned unverified: the contact as a whole is not verified.
    expect(trustOf([safetyNumber({ verified: true }), safetyNumber({ device: 'phone' })])).toBe('unverified');
    // A pending change wins over everything else.
    expect(trustOf([safetyNumber({ verified: true, changed: true }), safetyNumber({ device: 'phone' })])).toBe('changed');
  });
});

describe('the header label and the offered actions', () => {
  it('follow the trust', () => {
    expect(verifyLabel('unknown')).toBe('Verify');
    expect(verifyLabel('unmet')).toBe('Verify');
    expect(verifyLabel('unverified')).toBe('Verify');
    expect(verifyLabel('verified')).toBe('Verified \u2713');
    expect(verifyLabel('changed')).toBe('Key changed');
    expect((['unknown', 'unmet', 'unverified', 'verified', 'changed'] as const).filter(canVerify)).toEqual(['unverified']);
    expect((['unknown', 'unmet', 'unverified', 'verified', 'changed'] as const).filter(canAccept)).toEqual(['changed']);
  });
  it('words each device', () => {
    expect(deviceState(safetyNumber())).toBe('Not verified');
    expect(deviceState(safetyNumber({ verified: true }))).toBe('Verified');
    expect(deviceState(safetyNumber({ verified: true, changed: true }))).toMatch(/^Key changed/);
  });
});

describe('numberGroups', () => {
  it('splits the grouped digits, and groups digits that came without spaces', () => {
    expect(numberGroups(NUMBER)).toHaveLength(12);
    expect(numberGroups(NUMBER).join(' ')).toBe(NUMBER);
    expect(numberGroups(` ${NUMBER.replaceAll(' ', '')}\n`)).toEqual(numberGroups(NUMBER));
    expect(numberGroups('')).toEqual([]);
  });
});

describe('svgDataUrl', () => {
  it('is a base64 data: URL of the markup as UTF-8, or null without one', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><title>Zo\u00eb \u2713</title></svg>';
    const url = svgDataUrl(svg);
    expect(url).toMatch(/^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/);
    const decoded = new TextDecoder().decode(Uint8Array.from(atob((url as string).split(',')[1] as string), (c) => c.charCodeAt(0)));
    expect(decoded).toBe(svg);
    expect(svgDataUrl('')).toBeNull();
    expect(svgDataUrl('  ')).toBeNull();
  });
});
