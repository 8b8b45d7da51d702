import { describe, expect, it } from 'vitest';
import { formFromSettings, isAbsolutePath, MAX_AUTO_ACCEPT_MIB, splitUrls, validateSettings, type SettingsForm } from './settings-form';
import { settings } from './test-fixtures';
import type { Settings } from '../types';

const base: Settings = settings({
  ice_servers: [{ urls: ['turn:turn.example.org:3478'], username: 'me', has_credential: true }],
});

function form(extra: Partial<SettingsForm> = {}): SettingsForm {
  return { ...formFromSettings(base), ...extra };
}

describe('validateSettings', () => {
  it('round-trips saved settings, keeping a saved TURN password', () => {
    const r = validateSettings(form());
    expect(r).toEqual({ ok: true, settings: base, credentials: [] });
  });

  it('normalizes the server URL and rejects a bad one', () => {
    const ok = validateSettings(form({ serverKind: 'url', serverUrl: 'Chat.Example.org/' }));
    expect(ok.ok && ok.settings.server).toEqual({ kind: 'url', url: 'https://chat.example.org' });
    const bad = validateSettings(form({ serverKind: 'url', serverUrl: 'ftp://x' }));
    expect(!bad.ok && bad.errors[0]?.field).toBe('server');
  });

  it('checks ICE URLs, TURN usernames and passwords and sends new passwords by index', () => {
    const ice = [
      { urls: 'stun:stun.example.org, stun:stun2.example.org', username: '', credential: '', hasCredential: false },
      { urls: 'turns:t.example.org:5349', username: 'u', credential: 'secret', hasCredential: false },
    ];
    const r = validateSettings(form({ ice }));
    expect(r.ok && r.settings.ice_servers).toEqual([
      { urls: ['stun:stun.example.org', 'stun:stun2.example.org'], has_credential: false },
      { urls: ['turns:t.example.org:5349'], username: 'u', has_credential: true },
    ]);
    expect(r.ok && r.credentials).toEqual([{ index: 1, credential: 'secret' }]);

    const bad = (urls: string, username = '', credential = '') =>
      validateSettings(form({ ice: [{ urls, username, credential, hasCredential: false }] }));
    expect(bad('http://x').ok).toBe(false);
    expect(bad('').ok).toBe(false);
    expect(bad('turn:x').ok).toBe(false);
    expect(bad('turn:x', 'u').ok).toBe(false);
    expect(bad('turn:x', 'u', 'p').ok).toBe(true);
  });

  it('wants a full path for the download folder, or nothing', () => {
    expect(validateSettings(form({ downloadDir: '  ' })).ok).toBe(true);
    const r = validateSettings(form({ downloadDir: ' /home/me/Downloads ' }));
    expect(r.ok && r.settings.download_dir).toBe('/home/me/Downloads');
    const bad = validateSettings(form({ downloadDir: 'Downloads' }));
    expect(!bad.ok && bad.errors[0]?.field).toBe('download_dir');
  });

  it('carries the keyring through unchanged (it is chosen on the start-up screen)', () => {
    const kernel = settings({ keyring: 'keyutils' });
    expect(formFromSettings(kernel).keyring).toBe('keyutils');
    const r = validateSettings({ ...formFromSettings(kernel), theme: 'dark' });
    expect(r.ok && r.settings).toEqual({ ...kernel, theme: 'dark' });
  });

  it('carries "Let others join" through as last known (its switch saves it, not the form)', () => {
    const sharing = settings({ let_others_join: true });
    const r = validateSettings({ ...formFromSettings(sharing), notifications: false });
    expect(r.ok && r.settings).toEqual({ ...sharing, notifications: false });
    const off = validateSettings({ ...formFromSettings(sharing), letOthersJoin: false });
    expect(off.ok && off.settings.let_others_join).toBe(false);
  });

  it('takes an invite as the server, whole (the core checks it)', () => {
    const invite = 'parley://join?server=https%3A%2F%2F192.168.1.20%3A7891&fp=Pyo';
    const r = validateSettings({ ...formFromSettings(settings()), serverKind: 'url', serverUrl: ` ${invite} ` });
    expect(r.ok && r.settings.server).toEqual({ kind: 'url', url: invite });
  });

  it('wants a whole number of MiB from 0 to 1 TiB for receiving files without asking', () => {
    const at = (autoAcceptMib: string) => validateSettings(form({ autoAcceptMib }));
    expect(formFromSettings(base).autoAcceptMib).toBe('100');
    for (const [typed, mib] of [['0', 0], [' 250 ', 250], ['1048576', MAX_AUTO_ACCEPT_MIB]] as const) {
      const r = at(typed);
      expect(r.ok && r.settings.auto_accept_mib, typed).toBe(mib);
    }
    for (const typed of ['', '  ', '-1', '2.5', 'abc', '1048577', 'NaN', 'Infinity']) {
      const r = at(typed);
      expect(r.ok, typed).toBe(false);
      expect(!r.ok && r.errors, typed).toEqual([
        { field: 'auto_accept_mib', message: 'Receiving files without asking: give a whole number of MiB from 0 to 1,048,576 (0 asks about every file).' },
      ]);
    }
  });

  it('accepts only known themes', () => {
    expect(validateSettings(form({ theme: 'dark' })).ok).toBe(true);
    expect(validateSettings(form({ theme: 'neon' })).ok).toBe(false);
  });
});

describe('helpers', () => {
  it('splits URL lists and recognises absolute paths', () => {
    expect(splitUrls(' a, b\nc ')).toEqual(['a', 'b', 'c']);
    for (const p of ['/x', '~', '~/x', 'C:\\Users', 'd:/x', '\\\\server\\share']) expect(isAbsolutePath(p), p).toBe(true);
    for (const p of ['x', './x', '~x', 'C:x']) expect(isAbsolutePath(p), p).toBe(false);
  });
});
