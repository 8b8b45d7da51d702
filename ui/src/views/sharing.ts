/**
 * Settings → "This device's server" (`#settings-sharing`): the *Let others join* switch, which
 * opens this device's server to the local network (`set_sharing`, which also saves the
 * setting), and while it is open what others need to join: the port to let in, the
 * certificate's fingerprint, one invite per address with *Copy invite*, and the first invite as a
 * QR code (an `<img>` of a `data:` URL, never markup). Only for "This device": signed in to
 * another server, the switch is off and disabled (it can still be turned off if it was on).
 */
import type { Controller } from '../controller';
import { el, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { svgDataUrl } from '../model/safety';
import { sharingPortText } from '../model/server-trust';
import type { Sharing } from '../types';
import { copyText } from '../platform';
import { addressNodes, setFingerprint } from './server-identity';

export type SharingSection = {
  element: HTMLElement;
  /** Reads the current state (`sharing`) and whether "This device" is the server in use. */
  load(thisDevice: boolean): void;
};

/**
 * `changed(on)`: the switch saved `let_others_join` (the settings form carries it from then on,
 * so that saving the form does not undo it).
 */
export function createSharingSection(ctl: Controller, changed: (on: boolean) => void): SharingSection {
  const toggle = el('input', {
    id: 'settings-let-others-join',
    type: 'checkbox',
    role: 'switch',
    'aria-describedby': 'settings-sharing-hint settings-sharing-error',
  });
  const hint = el(
    'p',
    { id: 'settings-sharing-hint', class: 'hint' },
    'Opens the server built into Parley to other computers on your network, so people nearby can create an account on it and chat with you. It runs while Parley is open.',
  );
  const unavailable = el(
    'p',
    { id: 'settings-sharing-unavailable', class: 'hint' },
    'Only for \u201cThis device\u201d: you are signed in to another server. Sign in with \u201cThis device\u201d to let others join it.',
  );
  const error = el('p', { id: 'settings-sharing-error', class: 'error small field-error', role: 'alert' });
  const port = el('p', { id: 'settings-sharing-port', class: 'sharing-port' });
  const fingerprint = el('code', { id: 'settings-sharing-fingerprint', class: 'fingerprint', 'aria-labelledby': 'settings-sharing-fingerprint-label' });
  const invites = el('ul', { id: 'settings-sharing-invites', class: 'invites', 'aria-labelledby': 'settings-sharing-invites-label' });
  const none = el(
    'p',
    { id: 'settings-sharing-no-address', class: 'hint' },
    'This computer has no network address right now. Connect it to a network, then turn the switch off and on again.',
  );
  const qr = el('img', { id: 'settings-sharing-qr', class: 'sharing-qr', alt: 'QR code of the invite', width: '160', height: '160' });
  const qrCaption = el('p', { id: 'settings-sharing-qr-caption', class: 'hint' });
  const qrBox = el('figure', { class: 'sharing-qr-box' }, qr, el('figcaption', {}, qrCaption));
  const status = el('p', { id: 'settings-sharing-status', class: 'hint', role: 'status' });
  const details = el(
    'div',
    { id: 'settings-sharing-details', class: 'sharing-details' },
    port,
    el('p', { id: 'settings-sharing-fingerprint-label', class: 'fingerprint-label' }, 'Certificate fingerprint'),
    fingerprint,
    el('p', { class: 'hint' }, 'An invite carries it. People who type the address instead compare it with the one their Parley shows before trusting the server.'),
    el('h4', { id: 'settings-sharing-invites-label' }, 'Invites'),
    el('p', { class: 'hint' }, 'Send one to the people who should join: they paste it as the server when they sign in. One per address of this computer, the likeliest first.'),
    invites,
    none,
    status,
    qrBox,
  );
  const element = el(
    'section',
    { id: 'settings-sharing', class: 'settings-sharing', 'aria-labelledby': 'settings-sharing-title' },
    el('h3', { id: 'settings-sharing-title' }, 'This device\u2019s server'),
    el('div', { class: 'check switch' }, toggle, el('label', { for: 'settings-let-others-join' }, 'Let others join')),
    hint,
    unavailable,
    error,
    details,
  );

  let thisDevice = true;
  /** Each load and switch counts: an answer to an older one is not shown. */
  let seq = 0;

  const inviteRow = (invite: string, address: string | undefined): HTMLElement => {
    const text = el('code', { class: 'invite' }, invite);
    const copy = el('button', { type: 'button', class: 'copy-invite' }, 'Copy invite');
    // A break allowed after each ":" only (text nodes and <wbr>, never markup from a string).
    const where = address === undefined ? [] : [el('span', { class: 'invite-address' }, ...addressNodes(address))];
    const li = el('li', {}, ...where, text, copy);
    if (address !== undefined) copy.setAttribute('aria-description', address);
    copy.addEventListener('click', () => {
      copyText(invite).then(
        () => setText(status, `Invite copied${address !== undefined ? ` (${address})` : ''}. Paste it into a message or an email.`),
        () => {
          // Select it instead, so that Ctrl+C (or the context menu) copies it.
          document.getSelection()?.selectAllChildren(text);
          setText(status, "Parley couldn't copy it. The invite is selected: press Ctrl+C to copy it.");
        },
      );
    });
    return li;
  };

  const render = (sharing: Sharing | null) => {
    toggle.checked = sharing !== null;
    // Off, and another server in use: nothing to open. Still on (from before): it can be closed.
    toggle.disabled = !thisDevice && sharing === null;
    unavailable.hidden = thisDevice;
    // A hidden element named here would still be read out: only while it shows.
    toggle.setAttribute('aria-describedby', `settings-sharing-hint settings-sharing-error${thisDevice ? '' : ' settings-sharing-unavailable'}`);
    details.hidden = sharing === null;
    element.dataset.sharing = String(sharing !== null);
    setText(status, '');
    if (sharing === null) {
      invites.replaceChildren();
      setAttr(qr, 'src', null);
      return;
    }
    setText(port, sharingPortText(sharing.port));
    setFingerprint(fingerprint, sharing.fingerprint);
    invites.replaceChildren(...sharing.invites.map((invite, i) => inviteRow(invite, sharing.addresses[i])));
    none.hidden = sharing.invites.length > 0;
    const url = sharing.invites.length > 0 ? svgDataUrl(sharing.qr_svg) : null;
    qrBox.hidden = url === null;
    setAttr(qr, 'src', url);
    const first = sharing.addresses[0];
    setText(qrCaption, first === undefined ? 'The first invite, for a phone\u2019s camera.' : `The first invite (${first}), for a phone\u2019s camera.`);
  };

  toggle.addEventListener('change', () => {
    const on = toggle.checked;
    const mine = ++seq;
    setText(error, '');
    toggle.disabled = true;
    element.setAttribute('aria-busy', 'true');
    ctl
      .setSharing(on)
      .then((sharing) => {
        if (mine !== seq) return;
        render(sharing);
        changed(sharing !== null);
      })
      .catch((e: unknown) => {
        if (mine !== seq) return;
        setText(error, describeError(e));
        // Back to how it was: off when opening failed, still open when closing failed.
        toggle.checked = !on;
        toggle.disabled = !thisDevice && !toggle.checked;
      })
      .finally(() => {
        if (mine === seq) element.removeAttribute('aria-busy');
      });
  });

  render(null);
  return {
    element,
    load(inUse: boolean) {
      thisDevice = inUse;
      const mine = ++seq;
      setText(error, '');
      render(null);
      toggle.disabled = true;
      ctl
        .sharing()
        .then((sharing) => {
          if (mine === seq) render(sharing);
        })
        .catch((e: unknown) => {
          if (mine !== seq) return;
          render(null);
          setText(error, describeError(e));
        });
    },
  };
}
