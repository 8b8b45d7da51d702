/**
 * The sign-in screen's *Find servers on this network* (`#server-discovery`): listens for the
 * Parley servers nearby that let others join (`discover_servers`, about 2 s), lists them (name,
 * address, certificate fingerprint) with *Use this server*, and before one is used asks the
 * person to compare its fingerprint with the one its owner's Parley shows: anyone on the network
 * can announce a server under any name. *The fingerprints match* hands the server's invite to the
 * sign-in form (signing in with it pins that certificate). What a server announced is shown as
 * text only.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { errorText, toCoreError } from '../model/errors';
import { messageSentence } from '../model/server-trust';
import type { DiscoveredServer } from '../types';
import { addressNodes, fingerprintElement, setFingerprint } from './server-identity';

export type ServerDiscovery = {
  element: HTMLElement;
  /** The server field was changed by hand: "Using …" no longer holds. */
  fieldEdited(): void;
};

/** `use`: the person compared the fingerprint of `server` and wants it (the form takes its invite). */
export function createServerDiscovery(ctl: Controller, use: (server: DiscoveredServer) => void): ServerDiscovery {
  const find = el('button', { id: 'discover-servers', type: 'button', class: 'discover' }, 'Find servers on this network');
  const status = el('p', { id: 'discovery-status', class: 'hint discovery-status', role: 'status' });
  const error = el('p', { id: 'discovery-error', class: 'error', role: 'alert' });
  const results = el('ul', { id: 'discovery-results', class: 'discovered-servers', 'aria-label': 'Servers on this network' });

  // Before one is used: its fingerprint, to compare with the owner's.
  const confirmName = el('p', { id: 'discovery-confirm-server', class: 'discovery-confirm-server' });
  const confirmFingerprint = el('code', { id: 'discovery-fingerprint', class: 'fingerprint', 'aria-labelledby': 'discovery-fingerprint-label' });
  const match = el('button', { id: 'discovery-match', type: 'button', class: 'primary' }, 'The fingerprints match');
  const cancel = el('button', { id: 'discovery-cancel', type: 'button' }, 'Cancel');
  const confirm = el(
    'section',
    { id: 'discovery-confirm', class: 'server-question discovery-confirm', tabindex: '-1', 'aria-labelledby': 'discovery-confirm-title', 'aria-describedby': 'discovery-confirm-text' },
    el('h2', { id: 'discovery-confirm-title' }, 'Compare the fingerprint first'),
    confirmName,
    el(
      'p',
      { id: 'discovery-confirm-text' },
      'Compare it with the one shown in the server owner\u2019s Settings \u2192 Let others join. Anyone on this network can announce a server under any name: use it only if every group is the same.',
    ),
    el('p', { id: 'discovery-fingerprint-label', class: 'fingerprint-label' }, 'The fingerprint it announced:'),
    confirmFingerprint,
    el('p', { class: 'hint' }, 'Then signing in or creating an account uses its invite, and Parley accepts only this certificate from this server.'),
    el('div', { class: 'question-actions' }, match, cancel),
  );

  const element = el('section', { id: 'server-discovery', class: 'server-discovery', 'aria-label': 'Servers on this network' }, find, status, error, results, confirm);

  /** Each search counts: the answer to an older one is not shown. */
  let seq = 0;
  let found: DiscoveredServer[] = [];
  /** The server being compared, and the button that chose it (the focus goes back there on Cancel). */
  let choosing: { server: DiscoveredServer; opener: HTMLButtonElement } | null = null;

  const closeConfirm = () => {
    choosing = null;
    confirm.hidden = true;
    results.hidden = found.length === 0;
    status.hidden = false;
  };

  const row = (server: DiscoveredServer, i: number): HTMLElement => {
    const nameId = `discovered-${i}-name`;
    const addressId = `discovered-${i}-address`;
    const choose = el('button', { type: 'button', class: 'use-server', 'aria-describedby': `${nameId} ${addressId}` }, 'Use this server');
    choose.addEventListener('click', () => {
      choosing = { server, opener: choose };
      setText(confirmName, '');
      confirmName.append(el('strong', { class: 'discovered-name' }, server.name), ' at ', el('span', { class: 'discovered-address' }, ...addressNodes(server.address)));
      setFingerprint(confirmFingerprint, server.fingerprint);
      // In place of the list (and of the line that introduces it).
      results.hidden = true;
      status.hidden = true;
      confirm.hidden = false;
      confirm.focus();
      confirm.scrollIntoView({ block: 'nearest' });
    });
    return el(
      'li',
      { class: 'discovered-server', 'data-address': server.address },
      el('p', { id: nameId, class: 'discovered-name' }, server.name),
      el('p', { id: addressId, class: 'discovered-address' }, ...addressNodes(server.address)),
      el('p', { class: 'fingerprint-label' }, 'Certificate fingerprint'),
      fingerprintElement(server.fingerprint),
      choose,
    );
  };

  const showError = (e: unknown) => {
    const err = toCoreError(e);
    setText(error, errorText(err));
    // The core's own words too (what is missing, what to do), unless they are already the text.
    const detail = messageSentence(err.message);
    if (detail !== '' && detail !== error.textContent) error.append(el('span', { id: 'discovery-error-detail', class: 'error-detail' }, detail));
  };

  find.addEventListener('click', () => {
    const mine = ++seq;
    found = [];
    results.replaceChildren();
    closeConfirm();
    setText(error, '');
    delete status.dataset.using;
    setText(status, 'Looking for servers on this network\u2026');
    // Disabling the button drops its focus: it is given back (or to the first server) after.
    const hadFocus = document.activeElement === find;
    find.disabled = true;
    element.setAttribute('aria-busy', 'true');
    ctl
      .discoverServers()
      .then((servers) => {
        if (mine !== seq) return;
        found = servers;
        results.replaceChildren(...servers.map(row));
        results.hidden = servers.length === 0;
        setText(
          status,
          servers.length === 0
            ? 'No Parley servers found on this network. Ask the person running one for an invite.'
            : servers.length === 1
              ? 'Found 1 server on this network:'
              : `Found ${servers.length} servers on this network:`,
        );
      })
      .catch((e: unknown) => {
        if (mine !== seq) return;
        setText(status, '');
        showError(e);
      })
      .finally(() => {
        if (mine !== seq) return;
        find.disabled = false;
        element.removeAttribute('aria-busy');
        const lost = document.activeElement === null || document.activeElement === document.body;
        if (hadFocus && lost) (results.querySelector<HTMLButtonElement>('.use-server') ?? find).focus();
      });
  });

  cancel.addEventListener('click', () => {
    const opener = choosing?.opener;
    closeConfirm();
    opener?.focus();
  });
  match.addEventListener('click', () => {
    const chosen = choosing?.server;
    if (chosen === undefined) return;
    found = [];
    results.replaceChildren();
    closeConfirm();
    setText(status, '');
    status.append('Using ', el('strong', {}, chosen.name), ' (', ...addressNodes(chosen.address), '): sign in or create an account on it.');
    status.dataset.using = '';
    use(chosen);
  });

  closeConfirm();
  return {
    element,
    fieldEdited() {
      if (status.dataset.using !== undefined) setText(status, '');
      delete status.dataset.using;
    },
  };
}
