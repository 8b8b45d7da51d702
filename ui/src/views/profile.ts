/** Edit one's profile: display name, bio, status and avatar. */
import type { Controller } from '../controller';
import { el } from './dom';
import { describeError } from '../model/errors';
import { LIMITS, overLimit } from '../model/limits';
import type { User } from '../types';

const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const MAX_BYTES = 5 * 1024 * 1024;

/** Why a picked file can't be an avatar, or null when it can. */
export function avatarFileProblem(file: { type: string; size: number }): string | null {
  if (!TYPES.includes(file.type)) return 'Use a PNG, JPEG, GIF or WebP image.';
  if (file.size > MAX_BYTES) return 'The image is larger than 5 MiB.';
  if (file.size === 0) return 'The file is empty.';
  return null;
}

export function createProfileView(ctl: Controller): { element: HTMLElement; load(): void } {
  // No `maxlength`: it counts an emoji as two characters; the core's rule is checked on save.
  const displayName = el('input', { id: 'profile-display-name', type: 'text', autocomplete: 'name' });
  const bio = el('textarea', { id: 'profile-bio', rows: '3' });
  const status = el('input', { id: 'profile-status', type: 'text', placeholder: 'e.g. Working from home' });
  const file = el('input', { id: 'profile-avatar-input', type: 'file', accept: TYPES.join(','), 'aria-describedby': 'profile-avatar-hint' });
  const preview = el('img', { id: 'profile-avatar-preview', alt: 'Your avatar', class: 'avatar-preview', width: '96', height: '96' });
  const save = el('button', { id: 'profile-save', type: 'submit', class: 'primary' }, 'Save profile');
  const message = el('p', { id: 'profile-message', role: 'status' });
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close profile' }, '\u2715');
  const username = el('p', { class: 'hint' });
  const form = el(
    'form',
    { novalidate: '' },
    el('div', { class: 'avatar-row' }, preview, el('div', { class: 'field' }, el('label', { for: 'profile-avatar-input' }, 'Avatar'), file, el('p', { id: 'profile-avatar-hint', class: 'hint' }, 'PNG, JPEG, GIF or WebP, up to 5 MiB.'))),
    el('div', { class: 'field' }, el('label', { for: 'profile-display-name' }, 'Display name'), displayName),
    el('div', { class: 'field' }, el('label', { for: 'profile-status' }, 'Status'), status),
    el('div', { class: 'field' }, el('label', { for: 'profile-bio' }, 'About you'), bio),
    save,
    message,
  );
  const element = el(
    'section',
    { id: 'profile', class: 'panel', 'aria-labelledby': 'profile-title' },
    el('header', { class: 'panel-header' }, el('h2', { id: 'profile-title' }, 'Profile'), close),
    username,
    form,
  );
  close.addEventListener('click', () => ctl.back());

  let picked: File | null = null;
  let previewUrl: string | null = null;
  const showPreview = (url: string | null) => {
    preview.hidden = url === null;
    if (url !== null) preview.src = url;
    else preview.removeAttribute('src');
  };

  file.addEventListener('change', () => {
    const f = file.files?.[0] ?? null;
    if (f === null) return;
    const problem = avatarFileProblem(f);
    if (problem !== null) {
      message.textContent = problem;
      file.value = '';
      return;
    }
    picked = f;
    if (previewUrl !== null) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(f);
    showPreview(previewUrl);
    message.textContent = 'New avatar chosen; save to use it.';
  });

  const fill = (me: User) => {
    displayName.value = me.display_name;
    bio.value = me.bio;
    status.value = me.status;
    username.textContent = `Signed in as @${me.username}${me.email !== undefined ? ` (${me.email})` : ''}`;
    void ctl.avatar(me).then((url) => {
      if (picked === null) showPreview(url);
    });
  };

  const tooLong = () =>
    overLimit('A display name', displayName.value.trim(), LIMITS.displayName) ??
    overLimit('A status', status.value.trim(), LIMITS.status) ??
    overLimit('"About you"', bio.value, LIMITS.bio);
  // A field's problem goes as soon as it is fixed (the next one, if any, shows instead).
  let problemShown = false;
  form.addEventListener('input', () => {
    if (!problemShown) return;
    const problem = tooLong();
    problemShown = problem !== null;
    message.textContent = problem ?? '';
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const problem = tooLong();
    problemShown = problem !== null;
    if (problem !== null) {
      message.textContent = problem;
      return;
    }
    save.disabled = true;
    message.textContent = 'Saving\u2026';
    void (async () => {
      try {
        const fields = { displayName: displayName.value.trim(), bio: bio.value, status: status.value.trim() };
        const avatar = picked !== null ? new Uint8Array(await picked.arrayBuffer()) : undefined;
        await ctl.updateProfile(fields, avatar);
        if (avatar !== undefined) {
          picked = null;
          file.value = '';
        }
        message.textContent = 'Profile saved.';
      } catch (err) {
        message.textContent = describeError(err);
      } finally {
        save.disabled = false;
      }
    })();
  });

  return {
    element,
    load() {
      picked = null;
      file.value = '';
      message.textContent = '';
      const me = ctl.store.get().me;
      if (me !== null) fill(me);
      else {
        showPreview(null);
        message.textContent = 'Your profile can be edited once you are online.';
      }
      const online = ctl.store.get().connection === 'online';
      save.disabled = !online;
      if (!online && me !== null) message.textContent = 'You are offline: changes can be saved once you are back online.';
    },
  };
}
