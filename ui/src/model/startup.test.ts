import { describe, expect, it } from 'vitest';
import { asSentence, retryOutcome, startupScreen } from './startup';
import type { StartupStatus } from '../types';

const status = (extra: Partial<StartupStatus>): StartupStatus => ({
  ready: false,
  code: null,
  message: null,
  keyring: 'os',
  keyring_name: 'Secret Service',
  kernel_keyring_available: true,
  ...extra,
});

describe('startupScreen', () => {
  it('picks the screen by the code', () => {
    expect(startupScreen(status({ ready: true }))).toBe('ready');
    expect(startupScreen(status({ code: 'keyring_unavailable' }))).toBe('keyring');
    expect(startupScreen(status({ code: 'history_locked' }))).toBe('locked');
    expect(startupScreen(status({ code: 'profile_in_use' }))).toBe('other');
    expect(startupScreen(status({ code: null }))).toBe('other');
  });
});

describe('asSentence', () => {
  it('capitalizes and ends with a full stop, once', () => {
    expect(asSentence('cannot keep the session token: no keyring')).toBe('Cannot keep the session token: no keyring.');
    expect(asSentence(' done. ')).toBe('Done.');
    expect(asSentence('the keyring (GNOME Keyring)')).toBe('The keyring (GNOME Keyring)');
    expect(asSentence('')).toBe('');
  });
});

describe('retryOutcome', () => {
  it('speaks up only when nothing changed', () => {
    const before = status({ code: 'keyring_unavailable' });
    expect(retryOutcome(before, before)).toMatch(/still could not open/);
    expect(retryOutcome(before, status({ code: 'history_locked' }))).toBeNull();
    expect(retryOutcome(before, status({ ready: true }))).toBeNull();
  });
});
