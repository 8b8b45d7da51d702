/**
 * The sign-in screen's questions about a server's connection (`#auth-server-question`), shown
 * in the form in place of an error line when signing in or up was refused:
 * - `untrusted_certificate`: no authority vouches for the certificate (a server on the local
 *   network). Its fingerprint to compare with the one the server shows, *Trust this server*
 *   and *Cancel*.
 * - `certificate_changed`: another certificate than the one trusted. Refused, with why (someone
 *   may be posing as the server) and what to do (a new invite); no way to trust it from here.
 * - `plain_http`: plain http:// to another computer. The risk, *Sign in without encryption* (or
 *   *Create account without encryption*) and *Cancel*.
 * Everything the server or the core said goes in as text.
 */
import { el, setText } from './dom';
import type { CoreError } from '../model/errors';
import { messageSentence, type TrustQuestion } from '../model/server-trust';
import { serverEndpoint } from '../model/server-url';
import { setFingerprint } from './server-identity';

export type QuestionContext = {
  /** The refusal. */
  error: CoreError;
  /** The server as signed in to (normalized address, or invite). */
  server: string;
  /** What was being done: the agreeing button says it. */
  action: 'signin' | 'signup';
};

export type ServerQuestion = {
  element: HTMLElement;
  /** Shows the question `question` asks about `context`, and moves the focus to it. */
  show(question: TrustQuestion, context: QuestionContext): void;
  hide(): void;
  isOpen(): boolean;
  /** An error of the agreeing step (`trust_server`, `allow_plain_http`), in the panel. */
  showError(text: string): void;
  /** The button that agrees (trust, or go on without encryption). */
  readonly confirm: HTMLButtonElement;
  readonly cancel: HTMLButtonElement;
};

export function createServerQuestion(): ServerQuestion {
  const title = el('h2', { id: 'auth-server-question-title' });
  const body = el('div', { id: 'auth-server-question-text', class: 'question-text' });
  const fingerprint = el('code', { id: 'auth-fingerprint', class: 'fingerprint', 'aria-labelledby': 'auth-fingerprint-label' });
  const fingerprintLabel = el('p', { id: 'auth-fingerprint-label', class: 'fingerprint-label' });
  const fingerprintBox = el('div', { class: 'fingerprint-box' }, fingerprintLabel, fingerprint);
  const after = el('p', { class: 'hint' });
  const error = el('p', { id: 'auth-server-error', class: 'error', role: 'alert' });
  const confirm = el('button', { id: 'auth-server-confirm', type: 'button' });
  const cancel = el('button', { id: 'auth-server-cancel', type: 'button' }, 'Cancel');
  const element = el(
    'section',
    { id: 'auth-server-question', class: 'server-question', tabindex: '-1', 'aria-labelledby': 'auth-server-question-title', 'aria-describedby': 'auth-server-question-text' },
    title,
    body,
    fingerprintBox,
    after,
    error,
    el('div', { class: 'question-actions' }, confirm, cancel),
  );
  element.hidden = true;

  const paragraphs = (...texts: (string | HTMLElement)[]) =>
    body.replaceChildren(...texts.map((t) => (typeof t === 'string' ? el('p', {}, t) : t)));

  const showFingerprint = (label: string, value: string | undefined) => {
    fingerprintBox.hidden = setFingerprint(fingerprint, value) === 0;
    setText(fingerprintLabel, label);
  };

  return {
    element,
    confirm,
    cancel,
    show(question, { error: refusal, server, action }) {
      element.dataset.question = question;
      setText(error, '');
      const where = serverEndpoint(server)?.host ?? server;
      confirm.disabled = false;
      cancel.disabled = false;
      confirm.className = '';
      switch (question) {
        case 'untrusted_certificate':
          setText(title, 'Check this server\u2019s certificate');
          paragraphs(
            `No certificate authority vouches for the certificate of ${where}. That is usual for a server on a home or office network, but it means Parley can\u2019t tell this server from an impostor by itself.`,
            'Compare the fingerprint below with the one shown on the server: in its owner\u2019s Parley under Settings \u2192 Let others join, or what parley-signal printed when it started.',
          );
          showFingerprint('The fingerprint of the certificate it presented:', refusal.fingerprint);
          setText(after, 'Trust it only if every group is the same. From then on Parley accepts only this certificate from this server.');
          setText(confirm, 'Trust this server');
          confirm.className = 'primary';
          // Nothing to compare, nothing to trust.
          confirm.hidden = fingerprintBox.hidden;
          setText(cancel, 'Cancel');
          break;
        case 'certificate_changed':
          setText(title, 'This server\u2019s certificate has changed');
          paragraphs(
            el('p', { class: 'question-warning' }, 'Someone may be posing as this server to read your password and your messages, so Parley refused to connect.'),
            el('p', { class: 'question-detail' }, messageSentence(refusal.message)),
            'If its owner really made a new certificate, ask them for a new invite and paste it into the server field above.',
          );
          showFingerprint('', undefined);
          setText(after, '');
          confirm.hidden = true;
          setText(cancel, 'Close');
          break;
        case 'plain_http':
          setText(title, action === 'signin' ? 'Sign in without encryption?' : 'Create an account without encryption?');
          paragraphs(
            `${where} is another computer, and this address uses plain http://: nothing sent to it is encrypted. Anyone on the network path (the Wi-Fi, the routers, the internet provider) can read your password and see who you talk to and when, and could change what the server answers.`,
            'Go on only on a network you trust. Better: ask the server\u2019s owner for an https:// address or an invite.',
          );
          showFingerprint('', undefined);
          setText(after, '');
          setText(confirm, action === 'signin' ? 'Sign in without encryption' : 'Create account without encryption');
          confirm.hidden = false;
          setText(cancel, 'Cancel');
          break;
      }
      element.hidden = false;
      element.focus();
      element.scrollIntoView({ block: 'nearest' });
    },
    hide() {
      element.hidden = true;
      delete element.dataset.question;
      setText(error, '');
    },
    isOpen: () => !element.hidden,
    showError(text) {
      setText(error, text);
    },
  };
}
