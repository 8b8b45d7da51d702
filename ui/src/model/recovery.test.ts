import { describe, expect, it } from 'vitest';
import { codeGroups, keyringPhrase } from './recovery';

describe('codeGroups', () => {
  it('splits at the dashes, keeping them, so that the pieces join to the code', () => {
    const code = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX';
    const groups = codeGroups(code);
    expect(groups).toHaveLength(13);
    expect(groups[0]).toBe('ABCD-');
    expect(groups.at(-1)).toBe('TVWX');
    expect(groups.join('')).toBe(code);
    expect(codeGroups(' ABCD ')).toEqual(['ABCD']);
    expect(codeGroups('')).toEqual([]);
  });
});

describe('keyringPhrase', () => {
  it('names each keyring', () => {
    expect(keyringPhrase('os')).toBe('the system keyring');
    expect(keyringPhrase('keyutils')).toBe('the Linux kernel keyring (forgotten at restart)');
    expect(keyringPhrase('memory')).toMatch(/memory/);
  });
});
