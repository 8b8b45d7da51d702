/**
 * A contact's profile (`#contact-profile`): avatar, display name, username, whether they are
 * online, status and bio, as their profile last came (contacts, room rosters). A small dialog
 * over the main screen, opened from the conversation's header; ✕, Escape or a click beside it
 * closes it and the focus goes back to what opened it.
 */
import type { Controller } from '../controller';
import { el, setText } from './dom';
import { findUser } from '../model/people';
import { displayName } from '../model/state';
import { avatarElement } from './avatar';
import { createModal } from './modal';

export type ContactProfile = { element: HTMLElement; open(userId: string, opener: HTMLElement): void; close(): void; isOpen(): boolean };

/** `background`: the parts of the screen behind the dialog, made inert while it is open. */
export function createContactProfile(ctl: Controller, background: readonly HTMLElement[]): ContactProfile {
  const close = el('button', { id: 'contact-profile-close', type: 'button', class: 'close', 'aria-label': 'Close the profile' }, '\u2715');
  const avatarSlot = el('span', { class: 'profile-avatar' });
  const name = el('h2', { id: 'contact-profile-name' });
  const username = el('p', { id: 'contact-profile-username', class: 'hint' });
  const presence = el('p', { id: 'contact-profile-presence', class: 'profile-presence' });
  const status = el('p', { id: 'contact-profile-status', class: 'profile-status' });
  const bioTitle = el('h3', { id: 'contact-profile-bio-title' }, 'About');
  const bio = el('p', { id: 'contact-profile-bio', class: 'profile-bio' });
  const dialog = el(
    'div',
    { id: 'contact-profile', class: 'dialog contact-profile', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'contact-profile-name' },
    el('div', { class: 'profile-head' }, avatarSlot, el('div', { class: 'profile-names' }, name, username, presence), close),
    status,
    bioTitle,
    bio,
  );
  const element = el('div', { class: 'modal-backdrop' }, dialog);
  const modal = createModal(element, background, () => modal.hide());
  close.addEventListener('click', () => modal.hide());

  return {
    element,
    open(userId, from) {
      const state = ctl.store.get();
      const user = findUser(state, userId);
      if (user === null) return;
      const shown = displayName(user);
      avatarSlot.replaceChildren(avatarElement(ctl, user, shown));
      setText(name, shown);
      setText(username, `@${user.username}`);
      const contact = state.contacts.find((c) => c.user.id === userId);
      const online = contact?.online ?? false;
      setText(presence, online ? 'Online' : 'Offline');
      presence.classList.toggle('online', online);
      setText(status, user.status);
      status.hidden = user.status.trim() === '';
      // Their words, as text: a bio is peer text like a message.
      setText(bio, user.bio.trim() !== '' ? user.bio : `${shown} hasn\u2019t written anything about themselves yet.`);
      bio.classList.toggle('empty', user.bio.trim() === '');
      modal.show(close, from);
    },
    close: () => modal.hide(),
    isOpen: modal.isOpen,
  };
}
