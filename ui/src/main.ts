import { invoke, isTauri } from '@tauri-apps/api/core';
import { load, type Store } from '@tauri-apps/plugin-store';
import { el } from './dom';
import { normalizeServerUrl } from './server-url';

const SETTINGS_FILE = 'settings.json';
const SERVER_KEY = 'server';

interface BuildInfo {
  version: string;
  debug: boolean;
  os: string;
  arch: string;
}

/** The settings store, or null when the page runs in a plain browser (`npm run dev`). */
async function openSettings(): Promise<Store | null> {
  return isTauri() ? load(SETTINGS_FILE, { defaults: {}, autoSave: true }) : null;
}

function renderStartScreen(root: HTMLElement): void {
  const input = el('input', {
    id: 'server',
    name: 'server',
    type: 'text',
    inputmode: 'url',
    autocomplete: 'url',
    spellcheck: 'false',
    placeholder: 'chat.example.org',
    'aria-describedby': 'server-hint server-status',
  });
  const status = el('p', { id: 'server-status', class: 'status', role: 'status' });
  const form = el(
    'form',
    { 'aria-label': 'Signaling server', novalidate: '' },
    el('label', { for: 'server' }, 'Signaling server'),
    input,
    el('p', { id: 'server-hint', class: 'hint' }, 'For example chat.example.org or localhost:8080.'),
    el('button', { type: 'submit' }, 'Save'),
    status,
  );
  const about = el('p', { class: 'about' });

  root.replaceChildren(
    el(
      'main',
      { 'aria-labelledby': 'title' },
      el('h1', { id: 'title' }, 'Parley'),
      el('p', { class: 'tagline' }, 'Peer-to-peer chat.'),
      form,
    ),
    el('footer', {}, about),
  );

  const settings = openSettings().catch((e: unknown) => {
    status.textContent = `Settings are unavailable: ${String(e)}`;
    return null;
  });

  void settings.then(async (store) => {
    const saved = await store?.get<string>(SERVER_KEY);
    if (typeof saved === 'string' && input.value === '') input.value = saved;
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const result = normalizeServerUrl(input.value);
    if (!result.ok) {
      input.setAttribute('aria-invalid', 'true');
      status.textContent = result.error;
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    input.value = result.url;
    void settings.then(async (store) => {
      if (store === null) {
        status.textContent = `Server: ${result.url} (not saved outside the app).`;
        return;
      }
      await store.set(SERVER_KEY, result.url);
      status.textContent = `Saved. Server: ${result.url}`;
    });
  });

  if (isTauri()) {
    invoke<BuildInfo>('build_info')
      .then((info) => {
        about.textContent = `Parley ${info.version}${info.debug ? ' (debug build)' : ''} on ${info.os}/${info.arch}`;
      })
      .catch(() => {
        about.textContent = 'Parley';
      });
  } else {
    about.textContent = 'Parley (browser preview)';
  }
}

const root = document.getElementById('app');
if (root === null) throw new Error('#app is missing from index.html');
renderStartScreen(root);
