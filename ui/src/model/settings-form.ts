/** The settings form's data, validated before `set_settings`. Pure. */
import { normalizeServerUrl } from './server-url';
import type { IceCredential, Settings, StoreKind, Theme } from '../types';

/** The largest auto-accept size the app takes (1 TiB), as `settings.rs` checks. */
export const MAX_AUTO_ACCEPT_MIB = 1024 * 1024;

export type IceRow = {
  urls: string; // comma or whitespace separated
  username: string;
  credential: string; // typed now; empty keeps the saved one
  hasCredential: boolean;
};

export type SettingsForm = {
  serverKind: 'embedded' | 'url';
  serverUrl: string;
  ice: IceRow[];
  downloadDir: string;
  /** Files up to this many MiB are received without asking (text, as typed). */
  autoAcceptMib: string;
  theme: string;
  notifications: boolean;
  /** Not edited in the form (chosen on the start-up screen): carried through unchanged. */
  keyring: StoreKind;
  /**
   * Not saved by the form ("Let others join" is its own switch, `set_sharing`, which saves it):
   * carried through as last known, so that saving the form does not undo the switch.
   */
  letOthersJoin: boolean;
};

export type FieldError = { field: string; message: string };

export type Validated =
  | { ok: true; settings: Settings; credentials: IceCredential[] }
  | { ok: false; errors: FieldError[] };

const ICE_SCHEME = /^(stun|stuns|turn|turns):[^\s]+$/i;
const THEMES: Theme[] = ['system', 'light', 'dark'];

export function splitUrls(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/** An absolute path on Linux/macOS ("/…", "~/…") or Windows ("C:\…", "\\server\…"). */
export function isAbsolutePath(path: string): boolean {
  return /^(\/|~(\/|$)|[A-Za-z]:[\\/]|\\\\)/.test(path);
}

export function formFromSettings(settings: Settings): SettingsForm {
  return {
    serverKind: settings.server.kind,
    serverUrl: settings.server.kind === 'url' ? settings.server.url : '',
    ice: settings.ice_servers.map((s) => ({
      urls: s.urls.join(', '),
      username: s.username ?? '',
      credential: '',
      hasCredential: s.has_credential,
    })),
    downloadDir: settings.download_dir ?? '',
    autoAcceptMib: String(settings.auto_accept_mib),
    theme: settings.theme,
    notifications: settings.notifications,
    keyring: settings.keyring,
    letOthersJoin: settings.let_others_join,
  };
}

export function validateSettings(form: SettingsForm): Validated {
  const errors: FieldError[] = [];
  let server: Settings['server'] = { kind: 'embedded' };
  if (form.serverKind === 'url') {
    const r = normalizeServerUrl(form.serverUrl);
    if (r.ok) server = { kind: 'url', url: r.url };
    else errors.push({ field: 'server', message: r.error });
  }

  const ice_servers: Settings['ice_servers'] = [];
  const credentials: IceCredential[] = [];
  form.ice.forEach((row, i) => {
    const urls = splitUrls(row.urls);
    const n = i + 1;
    if (urls.length === 0) {
      errors.push({ field: `ice.${i}`, message: `ICE server ${n}: enter at least one stun: or turn: URL.` });
      return;
    }
    const bad = urls.find((u) => !ICE_SCHEME.test(u));
    if (bad !== undefined) {
      errors.push({ field: `ice.${i}`, message: `ICE server ${n}: "${bad}" must start with stun:, stuns:, turn: or turns:.` });
      return;
    }
    const turn = urls.some((u) => /^turns?:/i.test(u));
    const username = row.username.trim();
    if (turn && username === '') {
      errors.push({ field: `ice.${i}`, message: `ICE server ${n}: a TURN server needs a username.` });
      return;
    }
    if (turn && row.credential === '' && !row.hasCredential) {
      errors.push({ field: `ice.${i}`, message: `ICE server ${n}: a TURN server needs a password.` });
      return;
    }
    const index = ice_servers.length;
    ice_servers.push({
      urls,
      ...(username !== '' ? { username } : {}),
      has_credential: row.credential !== '' || row.hasCredential,
    });
    if (row.credential !== '') credentials.push({ index, credential: row.credential });
  });

  const dir = form.downloadDir.trim();
  if (dir !== '' && !isAbsolutePath(dir)) {
    errors.push({ field: 'download_dir', message: 'The download folder must be a full path, like /home/me/Downloads.' });
  }

  const autoAccept = form.autoAcceptMib.trim() === '' ? Number.NaN : Number(form.autoAcceptMib.trim());
  if (!Number.isInteger(autoAccept) || autoAccept < 0 || autoAccept > MAX_AUTO_ACCEPT_MIB) {
    errors.push({
      field: 'auto_accept_mib',
      message: `Receiving files without asking: give a whole number of MiB from 0 to ${MAX_AUTO_ACCEPT_MIB.toLocaleString('en')} (0 asks about every file).`,
    });
  }

  const theme = THEMES.find((t) => t === form.theme);
  if (theme === undefined) errors.push({ field: 'theme', message: 'Choose a theme: system, light or dark.' });

  if (errors.length > 0 || theme === undefined) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      server,
      ice_servers,
      download_dir: dir === '' ? null : dir,
      auto_accept_mib: autoAccept,
      theme,
      notifications: form.notifications,
      keyring: form.keyring,
      let_others_join: form.letOthersJoin,
    },
    credentials,
  };
}
