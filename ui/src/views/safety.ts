/**
 * The safety number panel (`#safety-panel`) of the open conversation: the number of each device
 * of the contact met so far, as digits and as a QR code, to compare with them; "Mark as verified";
 * and, when a verified contact's key changed, "Accept the new key". A section over the message
 * list: the composer below stays usable. It shows the numbers of the store (`open.safety`), which
 * the controller reloads when it opens and after each action.
 */
import type { Controller } from '../controller';
import { el, reconcile, setAttr, setText, whileBusy } from './dom';
import { describeError } from '../model/errors';
import { canAccept, canVerify, deviceState, numberGroups, svgDataUrl, trustOf } from '../model/safety';
import type { OpenConversation } from '../model/state';
import type { SafetyNumber } from '../types';

export type SafetyPanel = {
  element: HTMLElement;
  /** Shows it and reloads the numbers; the focus goes back to `opener` when it closes. */
  open(opener: HTMLElement): void;
  /** Hides it; `focusBack`: the focus goes back to what opened it. */
  close(focusBack?: boolean): void;
  isOpen(): boolean;
  update(open: OpenConversation): void;
};

function createDevice(): HTMLElement {
  return el(
    'li',
    { class: 'safety-device' },
    el('div', { class: 'safety-device-head' }, el('span', { class: 'safety-device-name' }), el('span', { class: 'safety-state' })),
    el(
      'div',
      { class: 'safety-device-body' },
      // Each group of five unbreakable; the line breaks between groups (see style.css).
      el('p', { class: 'safety-number' }),
      // The SVG only ever goes into the image's URL: never parsed into the page as markup.
      el('img', { class: 'safety-qr', alt: 'QR code of the safety number', width: '160', height: '160' }),
    ),
  );
}

function updateDevice(node: HTMLElement, n: SafetyNumber): void {
  setAttr(node, 'data-device', n.device);
  setAttr(node, 'data-state', n.changed ? 'changed' : n.verified ? 'verified' : 'unverified');
  setText(node.querySelector('.safety-device-name') as Element, `Device ${n.device}`);
  setText(node.querySelector('.safety-state') as Element, deviceState(n));
  const digits = node.querySelector('.safety-number') as HTMLElement;
  if (digits.dataset.number !== n.number) {
    digits.dataset.number = n.number;
    // The text is the digits in groups with a space between (what copying gives).
    digits.replaceChildren(...numberGroups(n.number).flatMap((g, i) => [...(i === 0 ? [] : [' ']), el('span', { class: 'group' }, g)]));
  }
  const qr = node.querySelector('.safety-qr') as HTMLImageElement;
  const url = svgDataUrl(n.qr_svg);
  qr.hidden = url === null;
  setAttr(qr, 'src', url);
}

/**
 * `home`: takes the focus on closing when what opened it can't (it went away meanwhile);
 * `onToggle`: called when it opens or closes.
 */
export function createSafetyPanel(ctl: Controller, home: HTMLElement, onToggle: () => void): SafetyPanel {
  const title = el('h3', { id: 'safety-title', tabindex: '-1' });
  const close = el('button', { id: 'safety-close', type: 'button', class: 'close', 'aria-label': 'Close the safety number' }, '\u2715');
  const intro = el('p', { id: 'safety-intro' });
  const status = el('p', { id: 'safety-status', class: 'hint', role: 'status' });
  const empty = el('p', { id: 'safety-empty', class: 'safety-empty' });
  const devices = el('ul', { id: 'safety-devices', class: 'safety-devices' });
  const warning = el('p', { id: 'safety-warning', class: 'safety-warning' });
  const error = el('p', { id: 'safety-error', class: 'error', role: 'alert' });
  const verify = el('button', { id: 'safety-verify', type: 'button', class: 'primary' }, 'Mark as verified');
  const accept = el('button', { id: 'safety-accept', type: 'button', class: 'primary', 'aria-describedby': 'safety-warning' }, 'Accept the new key');
  const element = el(
    'section',
    { id: 'safety-panel', class: 'safety-panel', 'aria-labelledby': 'safety-title' },
    el(
      'div',
      { class: 'safety-inner' },
      el('div', { class: 'safety-head' }, title, close),
      intro,
      empty,
      devices,
      warning,
      status,
      error,
      el('div', { class: 'safety-actions' }, verify, accept),
    ),
  );
  element.hidden = true;

  let opener: HTMLElement | null = null;
  let userId = '';
  let name = '';
  let shown: { safety: SafetyNumber[] | null; title: string } | null = null;
  /** What the last action did (the status line, once the numbers are loaded). */
  let done = '';

  const render = (safety: SafetyNumber[] | null) => {
    const trust = trustOf(safety);
    setText(title, `Safety number with ${name}`);
    setText(
      intro,
      `Compare these digits with ${name} in person, or on a call you trust. If they match, no one is in between you. They change when either of you reinstalls Parley or gets a new keyring.`,
    );
    setText(empty, `You haven\u2019t connected directly with ${name} yet: chat with them first.`);
    // Nothing to compare yet: only the empty text.
    intro.hidden = trust === 'unmet';
    empty.hidden = trust !== 'unmet';
    reconcile(devices, safety ?? [], (n) => n.device, createDevice, updateDevice);
    devices.hidden = safety === null || safety.length === 0;
    setText(
      warning,
      `${name}\u2019s key changed. Only accept the new key after comparing the new number above with ${name}: a changed key can also mean that someone is pretending to be them.`,
    );
    warning.hidden = !canAccept(trust);
    verify.hidden = !canVerify(trust);
    accept.hidden = !canAccept(trust);
    setText(status, safety === null ? 'Loading the safety numbers\u2026' : done);
  };

  const reload = () => {
    ctl.refreshSafety(userId).catch((e: unknown) => setText(error, describeError(e)));
  };

  /** Runs a verify or accept: the button busy, then what it did in the status line. */
  const act = (button: HTMLButtonElement, busyText: string, run: () => Promise<unknown>, said: string) => {
    setText(error, '');
    done = '';
    whileBusy(element, button, busyText, run, [verify, accept, close])
      .then(() => {
        done = said;
        setText(status, said);
      })
      .catch((e: unknown) => setText(error, describeError(e)))
      // The button may be gone now (everything verified): the focus stays in the panel, and
      // what happened is in view.
      .finally(() => {
        if (!button.hidden) return;
        title.focus({ preventScroll: true });
        status.scrollIntoView({ block: 'nearest' });
      });
  };

  verify.addEventListener('click', () => {
    act(verify, 'Marking\u2026', () => ctl.verifyContact(userId), `${name} is verified. If their key changes, Parley holds your messages to them until you compare the new number.`);
  });
  accept.addEventListener('click', () => {
    act(accept, 'Accepting\u2026', () => ctl.acceptIdentity(userId), `The new key is accepted and your messages to ${name} go out. Compare the new number with them, then mark them as verified again.`);
  });

  const panel: SafetyPanel = {
    element,
    open(from) {
      opener = from;
      done = '';
      setText(error, '');
      element.hidden = false;
      render(shown?.safety ?? null);
      reload();
      title.focus();
      onToggle();
    },
    close(focusBack = true) {
      if (element.hidden) return;
      element.hidden = true;
      done = '';
      onToggle();
      if (!focusBack) return;
      opener?.focus();
      if (document.activeElement !== opener) home.focus();
    },
    isOpen: () => !element.hidden,
    update(open) {
      userId = open.userId;
      name = open.title;
      if (shown !== null && shown.safety === open.safety && shown.title === open.title) return;
      shown = { safety: open.safety, title: open.title };
      render(open.safety);
    },
  };
  close.addEventListener('click', () => panel.close());
  return panel;
}
