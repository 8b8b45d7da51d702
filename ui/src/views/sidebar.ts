/** The left pane: joined rooms, the room directory and the contacts with presence and unread counts. */
import type { Controller } from '../controller';
import { arrowKeys, el, reconcile, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { LIMITS, overLimit } from '../model/limits';
import { preview } from '../model/format';
import { displayName, type AppState, type ContactView } from '../model/state';
import type { RoomSummary, RoomState } from '../types';
import { avatarElement } from './avatar';

export function createSidebar(ctl: Controller): { element: HTMLElement; update(state: AppState, prev: AppState | null): void } {
  const roomName = el('input', { id: 'room-name', type: 'text', placeholder: 'Room name', 'aria-label': 'Room name', autocomplete: 'off', spellcheck: 'false' });
  const joinButton = el('button', { id: 'room-join', type: 'submit' }, 'Join');
  const roomError = el('p', { class: 'error small', role: 'alert', id: 'room-error' });
  const joinForm = el('form', { class: 'join-room', 'aria-label': 'Join a room' }, roomName, joinButton);
  const rooms = el('ul', { id: 'rooms', class: 'rooms', 'aria-label': 'Joined rooms' });
  const directory = el('ul', { id: 'room-directory', class: 'rooms', 'aria-label': 'Room directory' });
  const directoryBox = el('details', { class: 'directory' }, el('summary', {}, 'Room directory'), directory);
  const contacts = el('ul', { id: 'contacts', class: 'contacts', 'aria-label': 'Contacts' });
  const noContacts = el('p', { class: 'hint empty' }, 'No contacts yet. Join a room to meet people.');

  const join = async (name: string) => {
    const room = name.trim();
    if (room === '') {
      roomError.textContent = 'Enter a room name.';
      roomName.focus();
      return;
    }
    const tooLong = overLimit('A room name', room, LIMITS.room);
    if (tooLong !== null) {
      roomError.textContent = tooLong;
      roomName.focus();
      return;
    }
    roomError.textContent = '';
    joinButton.disabled = true;
    try {
      await ctl.joinRoom(room);
      roomName.value = '';
    } catch (e) {
      roomError.textContent = describeError(e);
    } finally {
      joinButton.disabled = false;
    }
  };
  joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void join(roomName.value);
  });

  arrowKeys(contacts, 'button.contact');

  const element = el(
    'nav',
    { class: 'sidebar', 'aria-label': 'Rooms and contacts' },
    el('section', { class: 'side-section', 'aria-labelledby': 'rooms-title' }, el('h2', { id: 'rooms-title' }, 'Rooms'), joinForm, roomError, rooms, directoryBox),
    el('section', { class: 'side-section grow', 'aria-labelledby': 'contacts-title' }, el('h2', { id: 'contacts-title' }, 'Contacts'), contacts, noContacts),
  );

  const renderRooms = (list: RoomState[]) =>
    reconcile(
      rooms,
      list,
      (r) => r.room,
      (r) => {
        const leave = el('button', { type: 'button', class: 'leave', 'aria-label': `Leave ${r.room}` }, 'Leave');
        leave.addEventListener('click', () => {
          leave.disabled = true;
          ctl.leaveRoom(r.room).catch((e: unknown) => {
            leave.disabled = false;
            roomError.textContent = describeError(e);
          });
        });
        return el('li', { 'data-room': r.room }, el('span', { class: 'room-name' }, `# ${r.room}`), el('span', { class: 'count' }), leave);
      },
      (node, r) => {
        const n = r.peers.length;
        setText(node.querySelector('.count') as Element, n === 0 ? 'just you' : `${n} other${n === 1 ? '' : 's'}`);
      },
    );

  const renderDirectory = (list: RoomSummary[], joined: Set<string>) =>
    reconcile(
      directory,
      list,
      (r) => r.name,
      (r) => {
        const button = el('button', { type: 'button', class: 'join' }, 'Join');
        button.addEventListener('click', () => void join(r.name));
        return el('li', { 'data-room': r.name }, el('span', { class: 'room-name' }, `# ${r.name}`), el('span', { class: 'count' }), button);
      },
      (node, r) => {
        setText(node.querySelector('.count') as Element, `${r.online} online`);
        const button = node.querySelector('button') as HTMLButtonElement;
        button.disabled = joined.has(r.name);
        setText(button, joined.has(r.name) ? 'Joined' : 'Join');
        setAttr(button, 'aria-label', joined.has(r.name) ? `${r.name}: joined` : `Join ${r.name}`);
      },
    );

  const renderContacts = (list: ContactView[], openId: string | null, typing: Record<string, number>) =>
    reconcile(
      contacts,
      list,
      (c) => c.user.id,
      (c) => {
        const button = el(
          'button',
          { type: 'button', class: 'contact' },
          el('span', { class: 'avatar-wrap' }, avatarElement(ctl, c.user, displayName(c.user)), el('span', { class: 'presence', 'aria-hidden': 'true' })),
          el('span', { class: 'contact-text' }, el('span', { class: 'name' }), el('span', { class: 'preview' })),
          el('span', { class: 'sr-only presence-text' }),
        );
        button.addEventListener('click', () => void ctl.openConversation(c.user.id));
        return el('li', { 'data-user-id': c.user.id }, button);
      },
      (node, c) => {
        const name = displayName(c.user);
        setAttr(node, 'data-username', c.user.username);
        setAttr(node, 'data-online', String(c.online));
        const button = node.querySelector('button') as HTMLButtonElement;
        setAttr(button, 'aria-current', openId === c.user.id ? 'true' : null);
        const avatar = button.querySelector('.avatar') as HTMLElement;
        if (avatar.dataset.avatar !== (c.user.avatar_url ?? '')) avatar.replaceWith(avatarElement(ctl, c.user, name));
        setText(button.querySelector('.name') as Element, name);
        const isTyping = (typing[c.user.id] ?? 0) > Date.now();
        setText(button.querySelector('.preview') as Element, isTyping ? 'typing\u2026' : c.last !== null ? preview(c.last) : c.user.status);
        setText(button.querySelector('.presence-text') as Element, c.online ? ', online' : ', offline');
        let badge = button.querySelector('.unread');
        if (c.unread > 0) {
          if (badge === null) {
            badge = el('span', { class: 'unread' });
            button.append(badge);
          }
          setText(badge, c.unread > 99 ? '99+' : String(c.unread));
          setAttr(badge, 'aria-label', `${c.unread} unread`);
        } else badge?.remove();
      },
    );

  return {
    element,
    update(state, prev) {
      if (prev === null || state.rooms !== prev.rooms) renderRooms(state.rooms);
      if (prev === null || state.directory !== prev.directory || state.rooms !== prev.rooms) {
        renderDirectory(state.directory, new Set(state.rooms.map((r) => r.room)));
      }
      directoryBox.hidden = state.directory.length === 0;
      if (prev === null || state.contacts !== prev.contacts || state.open?.userId !== prev.open?.userId || state.typing !== prev.typing) {
        renderContacts(state.contacts, state.open?.userId ?? null, state.typing);
      }
      noContacts.hidden = state.contacts.length > 0;
      const online = state.connection === 'online';
      roomName.disabled = !online;
      joinButton.disabled = !online;
      roomName.placeholder = online ? 'Room name' : 'Rooms need a connection';
    },
  };
}
