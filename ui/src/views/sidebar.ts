/**
 * The left pane: joined rooms (each opens to who is in it, with a way to message them), the room
 * directory and the contacts with presence and unread counts.
 */
import type { Controller } from '../controller';
import { arrowKeys, el, reconcile, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { preview } from '../model/format';
import { peopleIn, peopleText, roomMembers, roomNameProblem, type Member } from '../model/rooms';
import { displayName, type AppState, type ContactView } from '../model/state';
import type { RoomSummary, RoomState, User } from '../types';
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

  const showRoomError = (text: string) => {
    setText(roomError, text);
    setAttr(roomName, 'aria-invalid', text === '' ? null : 'true');
  };
  const join = async (name: string) => {
    const room = name.trim();
    // The server's rule is checked here first, so that its developer wording never shows.
    const problem = room === '' ? 'Enter a room name.' : roomNameProblem(room);
    if (problem !== null) {
      showRoomError(problem);
      roomName.focus();
      return;
    }
    showRoomError('');
    joinButton.disabled = true;
    try {
      await ctl.joinRoom(room);
      roomName.value = '';
    } catch (e) {
      showRoomError(describeError(e));
    } finally {
      joinButton.disabled = false;
    }
  };
  // What is wrong is said while typing, and goes away once the name is fine or the field empty.
  roomName.addEventListener('input', () => showRoomError(roomNameProblem(roomName.value) ?? ''));
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

  // Each room's members are a disclosure of its own (kept open across updates: reconcile keeps the element).
  let membersId = 0;

  const renderMembers = (list: HTMLElement, members: Member[]) =>
    reconcile(
      list,
      members,
      (m) => m.user.id,
      (m) => {
        const text = el('span', { class: 'member-text' }, el('span', { class: 'name' }), el('span', { class: 'member-status' }));
        const li = el('li', { class: 'member', 'data-user-id': m.user.id }, avatarElement(ctl, m.user, m.name), text);
        if (!m.you) {
          const message = el('button', { type: 'button', class: 'message-member' }, 'Message');
          message.addEventListener('click', () => void ctl.openConversation(m.user.id, displayName(m.user)));
          li.append(message);
        }
        return li;
      },
      (node, m) => {
        const avatar = node.querySelector('.avatar') as HTMLElement;
        if (avatar.dataset.avatar !== (m.user.avatar_url ?? '')) avatar.replaceWith(avatarElement(ctl, m.user, m.name));
        setText(node.querySelector('.name') as Element, m.you ? `${m.name} (you)` : m.name);
        const status = node.querySelector('.member-status') as HTMLElement;
        setText(status, m.user.status);
        status.hidden = m.user.status.trim() === '';
        const message = node.querySelector<HTMLButtonElement>('.message-member');
        if (message !== null) setAttr(message, 'aria-label', `Message ${m.name}`);
      },
    );

  const renderRooms = (list: RoomState[], me: User | null, online: boolean) =>
    reconcile(
      rooms,
      list,
      (r) => r.room,
      (r) => {
        const id = `room-members-${++membersId}`;
        const open = el('button', { type: 'button', class: 'room-open', 'aria-expanded': 'false', 'aria-controls': id }, `# ${r.room}`);
        const members = el('ul', { id, class: 'members', 'aria-label': `In ${r.room}` });
        members.hidden = true;
        open.addEventListener('click', () => {
          const show = members.hidden;
          members.hidden = !show;
          open.setAttribute('aria-expanded', String(show));
        });
        const leave = el('button', { type: 'button', class: 'leave', 'aria-label': `Leave ${r.room}` }, 'Leave');
        leave.addEventListener('click', () => {
          leave.disabled = true;
          ctl.leaveRoom(r.room).catch((e: unknown) => {
            leave.disabled = false;
            showRoomError(describeError(e));
          });
        });
        return el('li', { 'data-room': r.room }, el('div', { class: 'room-line' }, open, el('span', { class: 'count' }), leave), members);
      },
      (node, r) => {
        const people = roomMembers(r, me);
        // Offline, who is in it is unknown: the room stays, rejoined once the connection is back.
        const count = online ? peopleText(Math.max(1, people.length), true) : 'offline';
        setText(node.querySelector('.count') as Element, count);
        const open = node.querySelector('.room-open') as HTMLButtonElement;
        setAttr(open, 'aria-label', `${r.room}: ${count}. Show who is in it`);
        renderMembers(node.querySelector('.members') as HTMLElement, people);
      },
    );

  const renderDirectory = (list: RoomSummary[], joinedRooms: RoomState[], me: User | null) => {
    const joined = new Set(joinedRooms.map((r) => r.room));
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
        // Counted as the room's own line counts it, for a room you are in.
        setText(node.querySelector('.count') as Element, peopleText(peopleIn(r.name, joinedRooms, list, me), joined.has(r.name)));
        const button = node.querySelector('button') as HTMLButtonElement;
        button.disabled = joined.has(r.name);
        setText(button, joined.has(r.name) ? 'Joined' : 'Join');
        setAttr(button, 'aria-label', joined.has(r.name) ? `${r.name}: joined` : `Join ${r.name}`);
      },
    );
  };

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
      if (prev === null || state.rooms !== prev.rooms || state.me !== prev.me || state.connection !== prev.connection) renderRooms(state.rooms, state.me, state.connection === 'online');
      if (prev === null || state.directory !== prev.directory || state.rooms !== prev.rooms || state.me !== prev.me) {
        renderDirectory(state.directory, state.rooms, state.me);
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
