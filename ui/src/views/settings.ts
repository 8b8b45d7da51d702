/**
 * Settings: server, STUN/TURN servers, download folder (typed, or chosen with the system's folder
 * picker), theme (shown at once, kept only when saved), notifications; the camera, microphone and
 * speaker of calls (`call-settings.ts`, kept at once); "This device's server" (*Let others join*,
 * `sharing.ts`); the recovery code (shown on request); and, folded away at the bottom, About and
 * diagnostics (the version, what the webview supports).
 */
import type { CallEngine } from '../calls/engine';
import type { Controller } from '../controller';
import { isLive } from '../model/calls';
import { createCallSettings } from './call-settings';
import { el, setText } from './dom';
import { describeError } from '../model/errors';
import { normalizeServerUrl } from '../model/server-url';
import { keyringPhrase } from '../model/recovery';
import { formFromSettings, validateSettings, type FieldError, type IceRow, type SettingsForm } from '../model/settings-form';
import type { MediaCaps, Settings, StoreKind, Theme } from '../types';
import { createCodeReveal } from './recovery';
import { createSharingSection } from './sharing';

const THEMES: [Theme, string][] = [
  ['system', 'Same as the system'],
  ['light', 'Light'],
  ['dark', 'Dark'],
];

const CAP_NAMES: [keyof MediaCaps, string][] = [
  ['rtc_peer_connection', 'WebRTC (RTCPeerConnection)'],
  ['get_user_media', 'Camera and microphone (getUserMedia)'],
  ['web_codecs', 'WebCodecs (VideoEncoder)'],
  ['audio_worklet', 'Audio worklets (AudioWorkletNode)'],
];

export function createSettingsView(ctl: Controller, calls: CallEngine): { element: HTMLElement; load(): void; leave(): void; destroy(): void } {
  const embedded = el('input', { id: 'settings-server-embedded', type: 'radio', name: 'settings-server', value: 'embedded' });
  const custom = el('input', { id: 'settings-server-url', type: 'radio', name: 'settings-server', value: 'url' });
  const url = el('input', { id: 'settings-server-url-input', type: 'text', inputmode: 'url', spellcheck: 'false', 'aria-label': 'Server address or invite', placeholder: 'Address or invite' });
  const ice = el('ul', { id: 'settings-ice', class: 'ice-list', 'aria-label': 'STUN and TURN servers' });
  const addIce = el('button', { id: 'settings-ice-add', type: 'button' }, 'Add a STUN/TURN server');
  const downloadDir = el('input', { id: 'settings-download-dir', type: 'text', spellcheck: 'false', placeholder: 'Downloads/Parley', 'aria-describedby': 'settings-download-dir-error settings-download-hint' });
  const autoAccept = el('input', { id: 'settings-auto-accept', type: 'number', class: 'number-input', min: '0', step: '1', inputmode: 'numeric', 'aria-describedby': 'settings-auto-accept-error settings-auto-accept-hint' });
  // A field's own error, under it (the list above *Save settings* has them all too).
  const downloadDirError = el('p', { id: 'settings-download-dir-error', class: 'error small field-error' });
  const autoAcceptError = el('p', { id: 'settings-auto-accept-error', class: 'error small field-error' });
  const chooseDir = el('button', { id: 'settings-download-choose', type: 'button', 'aria-label': 'Choose the download folder' }, 'Choose\u2026');
  const themeRadios = THEMES.map(([value]) => el('input', { id: `settings-theme-${value}`, type: 'radio', name: 'settings-theme', value }));
  const theme = el(
    'fieldset',
    { id: 'settings-theme', class: 'theme-choice' },
    el('legend', {}, 'Theme'),
    ...THEMES.map(([value, label], i) => el('div', { class: 'radio' }, themeRadios[i] as HTMLInputElement, el('label', { for: `settings-theme-${value}` }, label))),
    el('p', { class: 'hint' }, 'Shown at once; kept when you save.'),
  );
  const chosenTheme = () => themeRadios.find((r) => r.checked)?.value ?? '';
  const notifications = el('input', { id: 'settings-notifications', type: 'checkbox' });
  const save = el('button', { id: 'settings-save', type: 'submit', class: 'primary' }, 'Save settings');
  const errors = el('ul', { id: 'settings-errors', class: 'error', role: 'alert' });
  const message = el('p', { id: 'settings-message', role: 'status' });
  const media = el('ul', { id: 'settings-media', class: 'media-caps', 'aria-labelledby': 'settings-media-title' });
  const about = el('p', { id: 'settings-about' });
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close settings' }, '\u2715');
  const keyringText = el('p', { id: 'settings-keyring' });
  const recovery = createCodeReveal(ctl, 'settings-recovery', 'Show recovery code');
  /** Chosen on the start-up screen, not here: kept as loaded. Null until the settings are read. */
  let keyring: StoreKind | null = null;
  /** Saved by its own switch (`set_sharing`), not by the form: kept as last known, so saving the form does not undo it. */
  let letOthersJoin = false;
  /** The switch was used since Settings opened: the settings read at opening are older than it. */
  let switched = false;
  const callSettings = createCallSettings(calls, () => ctl.callsSupported, () => isLive(ctl.store.get().call));
  const sharing = createSharingSection(ctl, (on) => {
    letOthersJoin = on;
    switched = true;
  });

  const form = el(
    'form',
    { novalidate: '' },
    el(
      'fieldset',
      {},
      el('legend', {}, 'Server'),
      el('div', { class: 'radio' }, embedded, el('label', { for: 'settings-server-embedded' }, 'This device')),
      el('div', { class: 'radio' }, custom, el('label', { for: 'settings-server-url' }, 'Another server')),
      url,
      el('p', { class: 'hint' }, 'Used the next time you sign in.'),
    ),
    el('fieldset', {}, el('legend', {}, 'STUN and TURN servers'), el('p', { class: 'hint' }, 'Used on top of those your server hands out. TURN passwords are kept in the system keyring.'), ice, addIce),
    el(
      'div',
      { class: 'field' },
      el('label', { for: 'settings-download-dir' }, 'Download folder'),
      el('div', { class: 'path-row' }, downloadDir, chooseDir),
      downloadDirError,
      el('p', { id: 'settings-download-hint', class: 'hint' }, 'Where received files go: a full path, or choose one. Empty: Downloads/Parley in your home folder.'),
    ),
    el(
      'div',
      { class: 'field' },
      el('label', { for: 'settings-auto-accept' }, 'Receive files without asking up to (MiB)'),
      autoAccept,
      autoAcceptError,
      el('p', { id: 'settings-auto-accept-hint', class: 'hint' }, 'Larger files wait for you to accept or decline them. 0 asks about every file.'),
    ),
    theme,
    el('div', { class: 'check' }, notifications, el('label', { for: 'settings-notifications' }, 'Desktop notifications while the window is in the background')),
    errors,
    save,
    message,
  );
  const element = el(
    'section',
    { id: 'settings', class: 'panel', 'aria-labelledby': 'settings-title' },
    el('header', { class: 'panel-header' }, el('h2', { id: 'settings-title' }, 'Settings'), close),
    form,
    callSettings.element,
    sharing.element,
    el(
      'section',
      { id: 'settings-recovery', class: 'settings-recovery', 'aria-labelledby': 'settings-recovery-title' },
      el('h3', { id: 'settings-recovery-title' }, 'Recovery code'),
      keyringText,
      recovery.element,
    ),
    // For bug reports, not for every day: folded away, and what is missing is no error.
    el(
      'details',
      { id: 'settings-diagnostics', class: 'diagnostics' },
      el('summary', {}, 'About and diagnostics'),
      about,
      el('h4', { id: 'settings-media-title' }, 'Media support in this window'),
      el('p', { class: 'hint' }, 'What this window\u2019s web engine offers, for calls and media later. Nothing here needs fixing.'),
      media,
    ),
  );
  close.addEventListener('click', () => ctl.back());
  // The system's folder picker, opening at the folder typed; cancelling leaves the field as it was.
  chooseDir.addEventListener('click', () => {
    chooseDir.disabled = true;
    ctl
      .pickFolder(downloadDir.value)
      .then((dir) => {
        if (dir === null) return;
        downloadDir.value = dir;
        downloadDir.dispatchEvent(new Event('input', { bubbles: true }));
      })
      .catch((err: unknown) => {
        errors.replaceChildren(el('li', {}, describeError(err)));
      })
      .finally(() => {
        chooseDir.disabled = false;
        chooseDir.focus();
      });
  });
  const syncServer = () => {
    url.disabled = !custom.checked;
  };
  embedded.addEventListener('change', syncServer);
  custom.addEventListener('change', syncServer);
  // The theme shows at once; leaving Settings without saving puts the saved one back (the store's rule).
  for (const r of themeRadios) r.addEventListener('change', () => ctl.previewTheme(r.value as Theme));

  const iceRow = (row: IceRow): HTMLElement => {
    const n = () => Array.from(ice.children).indexOf(li) + 1;
    const urls = el('input', { type: 'text', class: 'ice-urls', spellcheck: 'false', placeholder: 'stun:stun.example.org:3478', 'aria-label': 'URLs' });
    const user = el('input', { type: 'text', class: 'ice-username', autocomplete: 'off', placeholder: 'Username (TURN)', 'aria-label': 'Username' });
    const cred = el('input', { type: 'password', class: 'ice-credential', autocomplete: 'new-password', placeholder: row.hasCredential ? 'Saved (type to replace)' : 'Password (TURN)', 'aria-label': 'Password' });
    const remove = el('button', { type: 'button', class: 'remove' }, 'Remove');
    urls.value = row.urls;
    user.value = row.username;
    const li = el('li', {}, urls, user, cred, remove);
    li.dataset.hasCredential = String(row.hasCredential);
    const label = () => {
      urls.setAttribute('aria-label', `Server ${n()} URLs`);
      user.setAttribute('aria-label', `Server ${n()} username`);
      cred.setAttribute('aria-label', `Server ${n()} password`);
      remove.setAttribute('aria-label', `Remove server ${n()}`);
    };
    queueMicrotask(label);
    remove.addEventListener('click', () => {
      li.remove();
      addIce.focus();
    });
    return li;
  };
  addIce.addEventListener('click', () => {
    const li = iceRow({ urls: '', username: '', credential: '', hasCredential: false });
    ice.append(li);
    li.querySelector('input')?.focus();
  });

  const readForm = (keyring: StoreKind): SettingsForm => ({
    serverKind: custom.checked ? 'url' : 'embedded',
    serverUrl: url.value,
    ice: Array.from(ice.children).map((li) => ({
      urls: (li.querySelector('.ice-urls') as HTMLInputElement).value,
      username: (li.querySelector('.ice-username') as HTMLInputElement).value,
      credential: (li.querySelector('.ice-credential') as HTMLInputElement).value,
      hasCredential: (li as HTMLElement).dataset.hasCredential === 'true',
    })),
    downloadDir: downloadDir.value,
    autoAcceptMib: autoAccept.value,
    theme: chosenTheme(),
    notifications: notifications.checked,
    keyring,
    letOthersJoin,
  });

  const showKeyring = (kind: StoreKind | null) => {
    const where = kind === null ? 'the keyring' : keyringPhrase(kind);
    setText(
      keyringText,
      `Your sign-in and the key of your encrypted message history are kept in ${where}. If it is lost or reset, the recovery code opens your history again. Keep the code away from this computer: on paper, or in a password manager.`,
    );
  };
  showKeyring(null);

  const fill = (s: Settings) => {
    const f = formFromSettings(s);
    keyring = f.keyring;
    if (!switched) letOthersJoin = f.letOthersJoin;
    showKeyring(keyring);
    embedded.checked = f.serverKind === 'embedded';
    custom.checked = f.serverKind === 'url';
    url.value = f.serverUrl;
    syncServer();
    ice.replaceChildren(...f.ice.map(iceRow));
    downloadDir.value = f.downloadDir;
    autoAccept.value = f.autoAcceptMib;
    for (const r of themeRadios) r.checked = r.value === f.theme;
    notifications.checked = f.notifications;
  };

  /** The form's errors: all in the list above *Save settings*, and each field's under it (`aria-invalid`). */
  const fieldErrors: [string, HTMLInputElement, HTMLElement][] = [
    ['download_dir', downloadDir, downloadDirError],
    ['auto_accept_mib', autoAccept, autoAcceptError],
  ];
  const showErrors = (list: readonly FieldError[]) => {
    errors.replaceChildren(...list.map((err) => el('li', {}, err.message)));
    for (const [field, input, text] of fieldErrors) {
      const own = list.find((err) => err.field === field);
      setText(text, own?.message ?? '');
      if (own === undefined) input.removeAttribute('aria-invalid');
      else input.setAttribute('aria-invalid', 'true');
    }
  };

  // The form's own errors go as the fields are fixed: checked again on every change while shown.
  let errorsFromCheck = false;
  const recheck = () => {
    if (keyring === null || errors.childElementCount === 0) return;
    if (!errorsFromCheck) {
      // The backend's refusal: it no longer holds once something changed.
      showErrors([]);
      return;
    }
    const v = validateSettings(readForm(keyring));
    showErrors(v.ok ? [] : v.errors);
  };
  form.addEventListener('input', recheck);
  form.addEventListener('change', recheck);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    showErrors([]);
    message.textContent = '';
    if (custom.checked) {
      const r = normalizeServerUrl(url.value);
      if (r.ok) url.value = r.url;
    }
    if (keyring === null) {
      errors.replaceChildren(el('li', {}, 'The settings could not be read, so they cannot be saved. Close Settings and open them again.'));
      return;
    }
    const v = validateSettings(readForm(keyring));
    errorsFromCheck = !v.ok;
    if (!v.ok) {
      showErrors(v.errors);
      // The first field that is wrong, to fix it.
      fieldErrors.find(([field]) => v.errors[0]?.field === field)?.[1].focus();
      return;
    }
    errorsFromCheck = false;
    save.disabled = true;
    ctl
      .saveSettings(v.settings, v.credentials.length > 0 ? v.credentials : undefined)
      .then((saved) => {
        fill(saved);
        message.textContent = 'Settings saved.';
      })
      .catch((err: unknown) => {
        errors.replaceChildren(el('li', {}, describeError(err)));
      })
      .finally(() => {
        save.disabled = false;
      });
  });

  const renderMedia = () => {
    const caps = ctl.mediaCaps;
    media.replaceChildren(
      ...CAP_NAMES.map(([key, name]) => {
        const on = caps?.[key] ?? false;
        return el('li', { 'data-cap': key, 'data-available': String(on) }, el('span', { class: on ? 'yes' : 'no', 'aria-hidden': 'true' }, on ? '\u2713' : '\u2013'), ` ${name}: ${on ? 'available' : 'not available'}`);
      }),
    );
  };

  return {
    element,
    /** Settings was left: the camera check stops. */
    leave() {
      callSettings.leave();
    },
    destroy() {
      callSettings.destroy();
    },
    load() {
      message.textContent = '';
      showErrors([]);
      recovery.reset();
      renderMedia();
      callSettings.load();
      switched = false;
      // Meaningful for "This device" only: the server this session uses.
      sharing.load(ctl.store.get().server.kind === 'embedded');
      ctl
        .settings()
        .then(fill)
        .catch((err: unknown) => {
          errors.replaceChildren(el('li', {}, describeError(err)));
        });
      ctl
        .appInfo()
        .then((info) => {
          about.textContent = `Parley ${info.version}${info.debug ? ' (debug build)' : ''} on ${info.os}/${info.arch}. Profile: ${info.profile_dir}`;
        })
        .catch(() => undefined);
    },
  };
}
