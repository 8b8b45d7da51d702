/**
 * Sign in / create account, with the choice of server (an address or an invite). Errors show
 * right above the form's button (in view however short the window is), point at the field they
 * are about, and go away once that field is changed. A refusal about the server's connection (a
 * certificate to check, one that changed, plain http) asks its question there instead
 * (`server-question.ts`); agreeing tries the same sign-in again.
 */
import type { Controller } from '../controller';
import { el, whileBusy } from './dom';
import { errorField, errorText, toCoreError, type CoreError } from '../model/errors';
import { LIMITS, overLimit } from '../model/limits';
import { trustQuestion, type TrustQuestion } from '../model/server-trust';
import { firewallHint, normalizeServerUrl } from '../model/server-url';
import type { AppState } from '../model/state';
import type { ServerChoice } from '../types';
import { createServerDiscovery } from './server-discovery';
import { createServerQuestion } from './server-question';

type Tab = 'signin' | 'signup';

function field(id: string, label: string, attrs: Record<string, string>, hint?: string): { wrap: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { id, name: id, ...attrs, ...(hint !== undefined ? { 'aria-describedby': `${id}-hint` } : {}) });
  const wrap = el('div', { class: 'field' }, el('label', { for: id }, label), input);
  if (hint !== undefined) wrap.append(el('p', { id: `${id}-hint`, class: 'hint' }, hint));
  return { wrap, input };
}

export function createAuthView(ctl: Controller): { element: HTMLElement; update(state: AppState): void; showError(text: string): void } {
  const error = el('p', { id: 'auth-error', role: 'alert', class: 'error' });
  const tabSignIn = el('button', { id: 'tab-signin', type: 'button', role: 'tab', 'aria-controls': 'signin-form' }, 'Sign in');
  const tabSignUp = el('button', { id: 'tab-signup', type: 'button', role: 'tab', 'aria-controls': 'signup-form' }, 'Create account');
  const tabs = el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Account' }, tabSignIn, tabSignUp);

  const embedded = el('input', { id: 'server-embedded', type: 'radio', name: 'server', value: 'embedded' });
  const custom = el('input', { id: 'server-url', type: 'radio', name: 'server', value: 'url' });
  const urlInput = el('input', {
    id: 'server-url-input',
    type: 'text',
    inputmode: 'url',
    autocomplete: 'url',
    spellcheck: 'false',
    placeholder: 'Address or invite',
    'aria-label': 'Server address or invite',
    'aria-describedby': 'server-url-hint',
  });
  embedded.checked = true;
  const serverBox = el(
    'fieldset',
    { class: 'server-choice' },
    el('legend', {}, 'Server'),
    el('div', { class: 'radio' }, embedded, el('label', { for: 'server-embedded' }, 'This device'), el('span', { class: 'hint' }, '(built in, no setup)')),
    el('div', { class: 'radio' }, custom, el('label', { for: 'server-url' }, 'Another server')),
    urlInput,
    el('p', { id: 'server-url-hint', class: 'hint' }, 'An address like chat.example.org or localhost:8080, or an invite (parley://join?\u2026) from the server\u2019s owner.'),
  );
  // Servers nearby that let others join: one whose fingerprint the person compared fills the
  // field with its invite (see below, once the forms exist).
  const discovery = createServerDiscovery(ctl, (found) => useDiscovered(found.invite));
  serverBox.append(discovery.element);
  const syncServer = () => {
    urlInput.disabled = !custom.checked;
  };
  embedded.addEventListener('change', syncServer);
  custom.addEventListener('change', () => {
    syncServer();
    urlInput.focus();
  });
  syncServer();
  const question = createServerQuestion();

  const login = field('signin-login', 'Username or email', { type: 'text', autocomplete: 'username', required: '', spellcheck: 'false', autocapitalize: 'none' });
  const password = field('signin-password', 'Password', { type: 'password', autocomplete: 'current-password', required: '' });
  const signInButton = el('button', { id: 'signin-submit', type: 'submit', class: 'primary' }, 'Sign in');
  const signInForm = el('form', { id: 'signin-form', role: 'tabpanel', 'aria-labelledby': 'tab-signin', novalidate: '' }, login.wrap, password.wrap, signInButton);

  const username = field('signup-username', 'Username', { type: 'text', autocomplete: 'username', required: '', spellcheck: 'false', autocapitalize: 'none', maxlength: String(LIMITS.username) }, `${LIMITS.usernameMin}\u2013${LIMITS.username} letters, digits, "_", "." or "-", starting with a letter or digit.`);
  const email = field('signup-email', 'Email', { type: 'email', autocomplete: 'email', required: '' });
  const newPassword = field('signup-password', 'Password', { type: 'password', autocomplete: 'new-password', required: '' }, 'At least 8 characters.');
  const displayNameField = field('signup-display-name', 'Display name (optional)', { type: 'text', autocomplete: 'name' });
  const signUpButton = el('button', { id: 'signup-submit', type: 'submit', class: 'primary' }, 'Create account');
  const signUpForm = el('form', { id: 'signup-form', role: 'tabpanel', 'aria-labelledby': 'tab-signup', novalidate: '' }, username.wrap, email.wrap, newPassword.wrap, displayNameField.wrap, signUpButton);

  const about = el('p', { class: 'about' });
  const element = el(
    'section',
    { id: 'auth', 'aria-labelledby': 'auth-title' },
    el('div', { class: 'auth-card' }, el('h1', { id: 'auth-title' }, 'Parley'), el('p', { class: 'tagline' }, 'Peer-to-peer chat.'), tabs, serverBox, signInForm, signUpForm, about),
  );
  void ctl
    .appInfo()
    .then((info) => {
      about.textContent = `Parley ${info.version}${info.debug ? ' (debug build)' : ''}`;
    })
    .catch(() => undefined);

  /** The fields the error shown is about: changing one takes the error away. */
  let errorFor: HTMLInputElement[] = [];
  /** `detail`: a second line (the port an unreachable server's firewall must let in). */
  const showError = (text: string, fields: HTMLInputElement[] = [], detail: string | null = null) => {
    for (const f of errorFor) f.removeAttribute('aria-invalid');
    errorFor = text === '' ? [] : fields;
    error.textContent = text;
    if (text !== '' && detail !== null) error.append(el('span', { id: 'auth-error-detail', class: 'error-detail' }, detail));
    for (const f of errorFor) f.setAttribute('aria-invalid', 'true');
    // Next to the button just used, and scrolled to where it can be read.
    if (text !== '') error.scrollIntoView({ block: 'nearest' });
  };
  element.addEventListener('input', (e) => {
    if (errorFor.some((f) => f === e.target)) showError('');
  });

  /** The question shown is about this server and this form: another server or tab takes it away. */
  let asked: { question: TrustQuestion; server: string; fingerprint: string | undefined; form: HTMLFormElement } | null = null;
  const submitButtons = () => [signInButton, signUpButton];
  const closeQuestion = () => {
    asked = null;
    question.hide();
    for (const b of submitButtons()) b.hidden = false;
  };
  const ask = (q: TrustQuestion, err: CoreError, server: string) => {
    const form = tab === 'signin' ? signInForm : signUpForm;
    asked = { question: q, server, fingerprint: err.fingerprint, form };
    // In place of the form's button: the question's own buttons answer it.
    for (const b of submitButtons()) b.hidden = b.form === form;
    question.show(q, { error: err, server, action: tab });
  };
  urlInput.addEventListener('input', () => {
    if (asked !== null) closeQuestion();
    discovery.fieldEdited();
  });
  for (const r of [embedded, custom]) {
    r.addEventListener('change', () => {
      if (asked !== null) closeQuestion();
    });
  }
  question.cancel.addEventListener('click', () => {
    closeQuestion();
    if (custom.checked) urlInput.focus();
  });
  question.confirm.addEventListener('click', () => {
    const a = asked;
    if (a === null) return;
    const busy = a.question === 'untrusted_certificate' ? 'Trusting\u2026' : 'Saving\u2026';
    void whileBusy(question.element, question.confirm, busy, async () => {
      if (a.question === 'untrusted_certificate') await ctl.trustServer(a.server, a.fingerprint ?? '');
      else await ctl.allowPlainHttp(a.server);
    }, [question.confirm, question.cancel]).then(
      () => {
        if (asked !== a) return;
        closeQuestion();
        // The same sign-in (or sign-up) again, with what the form holds.
        a.form.requestSubmit();
      },
      (e: unknown) => question.showError(errorText(toCoreError(e))),
    );
  });

  /** A server found on the network, its fingerprint compared: its invite goes into the field. */
  const useDiscovered = (invite: string) => {
    custom.checked = true;
    syncServer();
    urlInput.value = invite;
    closeQuestion();
    if (errorFor.includes(urlInput)) showError('');
    // On to the first field still to fill in the form shown.
    const form = tab === 'signin' ? signInForm : signUpForm;
    const next = Array.from(form.querySelectorAll<HTMLInputElement>('input')).find((f) => f.value === '') ?? form.querySelector<HTMLButtonElement>('button[type="submit"]');
    next?.focus();
  };

  let tab: Tab = 'signin';
  const select = (next: Tab, focus = false) => {
    tab = next;
    for (const [button, form, name] of [[tabSignIn, signInForm, 'signin'], [tabSignUp, signUpForm, 'signup']] as const) {
      const on = name === tab;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      form.hidden = !on;
    }
    // The error sits just above the shown form's button.
    const form = tab === 'signin' ? signInForm : signUpForm;
    form.insertBefore(error, form.querySelector('button[type="submit"]'));
    form.insertBefore(question.element, form.querySelector('button[type="submit"]'));
    closeQuestion();
    showError('');
    if (focus) (tab === 'signin' ? tabSignIn : tabSignUp).focus();
  };
  tabSignIn.addEventListener('click', () => select('signin'));
  tabSignUp.addEventListener('click', () => select('signup'));
  tabs.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      select(tab === 'signin' ? 'signup' : 'signin', true);
    }
  });
  select('signin');

  const server = (): ServerChoice | null => {
    if (!custom.checked) return { kind: 'embedded' };
    const r = normalizeServerUrl(urlInput.value);
    if (!r.ok) {
      showError(r.error, [urlInput]);
      urlInput.focus();
      return null;
    }
    urlInput.value = r.url;
    return { kind: 'url', url: r.url };
  };

  const missing = (...fields: HTMLInputElement[]): boolean => {
    for (const f of fields) {
      const empty = f.value.trim() === '';
      if (empty) {
        const label = (element.querySelector(`label[for="${f.id}"]`)?.textContent ?? 'This field').replace(/ \(optional\)$/, '');
        showError(`Enter your ${label.toLowerCase()}.`, [f]);
        f.focus();
        return true;
      }
    }
    return false;
  };

  /** The inputs an error about `name` points at on the form shown, the one to fix first last. */
  const fieldInputs = (name: string | null): HTMLInputElement[] => {
    if (name === 'server') return custom.checked ? [urlInput] : [];
    // Wrong login or password: either may be the wrong one; the password is typed again.
    if (tab === 'signin') return name === 'login' ? [login.input, password.input] : [];
    const fields: Record<string, HTMLInputElement> = { username: username.input, email: email.input, password: newPassword.input, display_name: displayNameField.input };
    const f = name === null ? undefined : fields[name];
    return f === undefined ? [] : [f];
  };

  const submit = (server: ServerChoice, button: HTMLButtonElement, busyText: string, run: () => Promise<void>) => {
    showError('');
    closeQuestion();
    return whileBusy(element, button, busyText, run).catch((e: unknown) => {
      const err = toCoreError(e);
      const q = trustQuestion(err.code);
      if (q !== null && server.kind === 'url') {
        ask(q, err, server.url);
        return;
      }
      const fields = fieldInputs(errorField(err));
      const detail = err.code === 'server_unreachable' && server.kind === 'url' ? firewallHint(server.url) : null;
      showError(errorText(err), fields, detail);
      fields[fields.length - 1]?.focus();
    });
  };

  signInForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (missing(login.input, password.input)) return;
    const s = server();
    if (s === null) return;
    void submit(s, signInButton, 'Signing in\u2026', async () => {
      await ctl.signIn(s, login.input.value.trim(), password.input.value);
      password.input.value = '';
    });
  });

  signUpForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (missing(username.input, email.input, newPassword.input)) return;
    const s = server();
    if (s === null) return;
    const name = displayNameField.input.value.trim();
    const tooLong = overLimit('A display name', name, LIMITS.displayName);
    if (tooLong !== null) {
      showError(tooLong, [displayNameField.input]);
      displayNameField.input.focus();
      return;
    }
    void submit(s, signUpButton, 'Creating account\u2026', async () => {
      await ctl.signUp(s, username.input.value.trim(), email.input.value.trim(), newPassword.input.value, name === '' ? undefined : name);
      newPassword.input.value = '';
    });
  });

  let prefilled = false;
  return {
    element,
    update(state: AppState) {
      if (!prefilled) {
        prefilled = true;
        if (state.username !== null && login.input.value === '') login.input.value = state.username;
        if (state.server.kind === 'url') {
          custom.checked = true;
          urlInput.value = state.server.url;
        } else embedded.checked = true;
        syncServer();
      }
      if (state.signedOutReason !== null && error.textContent === '') showError(state.signedOutReason);
    },
    showError(text: string) {
      showError(text);
    },
  };
}
