/**
 * The open conversation: the header (who, the profile, safety numbers), a virtualized message
 * list with clickable links and the "New messages" divider, typing indicator and the composer
 * with its emoji picker.
 */
import type { Controller } from '../controller';
import { el, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { LIMITS, overLimit } from '../model/limits';
import { formatDateTime, formatTime, tickFor } from '../model/format';
import { linkify } from '../model/links';
import { findUser } from '../model/people';
import { buildRows, type Row } from '../model/rows';
import { trustOf, verifyLabel, type Trust } from '../model/safety';
import { displayName, isTyping, type AppState, type OpenConversation } from '../model/state';
import type { Message } from '../types';
import { avatarElement } from './avatar';
import { copyToClipboard, offerMenuItems, type MenuItem } from './context-menu';
import { createEmojiPicker } from './emoji-picker';
import { createSafetyPanel } from './safety';
import { VirtualList, type Target } from './virtual-list';

const NEAR_EDGE_PX = 400;

/**
 * A message's text with its http(s) and mailto links as <a> elements: text nodes and elements
 * made one by one, never markup (peer text is hostile). The links' clicks are the view's.
 */
function bodyNodes(text: string): (Node | string)[] {
  return linkify(text).map((piece) =>
    piece.url === null ? piece.text : el('a', { href: piece.url, class: 'link', rel: 'noopener noreferrer', title: piece.url }, piece.text),
  );
}

function createRow(row: Row): HTMLElement {
  switch (row.kind) {
    case 'day':
      return el('div', { class: 'row day', role: 'heading', 'aria-level': '3' }, el('span', {}, row.label));
    case 'system':
      return el('div', { class: 'row system', role: 'note' }, el('span', {}, row.line.text));
    case 'unread':
      return el('div', { id: 'unread-divider', class: 'row unread-divider', role: 'separator', 'aria-label': 'New messages' }, el('span', { 'aria-hidden': 'true' }, 'New messages'));
    case 'message': {
      const m = row.message;
      const meta = el('div', { class: 'meta' }, el('time', { datetime: new Date(m.sent_at).toISOString(), title: formatDateTime(m.sent_at, Date.now()) }, formatTime(m.sent_at)));
      if (m.direction === 'outgoing') meta.append(el('span', { class: 'tick', role: 'img' }));
      return el(
        'div',
        { class: `row message ${m.direction}`, 'data-id': m.id, 'data-direction': m.direction, tabindex: '-1' },
        el('div', { class: 'bubble' }, el('div', { class: 'body' }, ...bodyNodes(m.body)), meta),
      );
    }
  }
}

function updateRow(node: HTMLElement, row: Row, highlightId: string | null): void {
  if (row.kind !== 'message') return;
  const m: Message = row.message;
  setAttr(node, 'data-state', m.state);
  node.classList.toggle('highlight', m.id === highlightId);
  const tick = node.querySelector('.tick');
  if (tick !== null) {
    const t = tickFor(m.state);
    setText(tick, t.symbol);
    setAttr(tick, 'class', t.className);
    setAttr(tick, 'aria-label', t.label);
    setAttr(tick, 'title', t.label);
  }
}

/** `showProfile`: opens the contact's profile (the focus goes back to `opener` when it closes). */
export function createConversationView(ctl: Controller, showProfile: (userId: string, opener: HTMLElement) => void): {
  element: HTMLElement;
  update(state: AppState, prev: AppState | null): void;
  focusComposer(): void;
  renderedRows(): number;
} {
  const back = el('button', { id: 'back', type: 'button', class: 'back', 'aria-label': 'Back to contacts' }, '\u2190');
  // The name opens the profile; the avatar beside it too, for the pointer (one stop for Tab).
  const profileButton = el('button', { id: 'conversation-profile', type: 'button', class: 'title-button', 'aria-haspopup': 'dialog' });
  const title = el('h2', { id: 'conversation-title' }, profileButton);
  const avatarButton = el('button', { type: 'button', class: 'header-avatar', tabindex: '-1', 'aria-hidden': 'true' }, el('span', { class: 'avatar' }));
  const presence = el('span', { class: 'presence-label' });
  const verify = el('button', { id: 'conversation-verify', type: 'button', class: 'verify', 'aria-controls': 'safety-panel', 'aria-expanded': 'false' });
  const header = el('header', { class: 'conversation-header' }, back, avatarButton, el('div', { class: 'title-block' }, title, presence), verify);
  const heldText = el('span', {});
  const heldCompare = el('button', { id: 'identity-held-compare', type: 'button' }, 'Compare numbers');
  const held = el('div', { id: 'identity-held', class: 'identity-held', role: 'status' }, heldText, heldCompare);
  let trust: Trust = 'unknown';
  // The notice of held messages leads to the panel: not needed while the panel is open.
  const showHeld = () => {
    held.hidden = trust !== 'changed' || safety.isOpen();
  };
  const safety = createSafetyPanel(ctl, verify, () => {
    setAttr(verify, 'aria-expanded', String(safety.isOpen()));
    showHeld();
  });
  const loadOlder = el('div', { id: 'load-older', role: 'status', class: 'load-older' });
  const scroller = el('div', { id: 'messages', class: 'messages', tabindex: '0', role: 'region', 'aria-label': 'Messages' });
  const empty = el('p', { id: 'conversation-empty', class: 'conversation-empty' });
  const jumpLatest = el('button', { id: 'jump-latest', type: 'button', class: 'jump-latest' }, 'Jump to latest \u2193');
  const typing = el('div', { id: 'typing', class: 'typing', 'aria-live': 'polite' });
  const announcer = el('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' });
  const composerError = el('p', { id: 'composer-error', class: 'error small', role: 'alert' });
  const composer = el('textarea', { id: 'composer', rows: '1', 'aria-label': 'Message', placeholder: 'Message', 'aria-describedby': 'composer-hint' });
  const send = el('button', { id: 'send', type: 'submit', class: 'primary' }, 'Send');
  const emoji = createEmojiPicker(composer);
  const form = el('form', { class: 'composer', 'aria-label': 'Write a message' }, emoji.button, composer, send, emoji.element);
  const hint = el('p', { id: 'composer-hint', class: 'sr-only' }, 'Enter sends, Shift+Enter starts a new line.');
  const element = el(
    'section',
    { id: 'conversation', class: 'conversation', 'aria-labelledby': 'conversation-title' },
    header,
    el('div', { class: 'messages-wrap' }, loadOlder, scroller, empty, jumpLatest, safety.element),
    typing,
    held,
    composerError,
    form,
    hint,
    announcer,
  );
  element.hidden = true;

  let highlightId: string | null = null;
  const list = new VirtualList<Row>(scroller, {
    key: (r) => r.key,
    create: createRow,
    update: (node, r) => updateRow(node, r, highlightId),
    weakAnchor: (r) => r.kind === 'day',
    estimate: 64,
    overscan: 400,
    onScroll: (fromTop, fromBottom) => {
      if (fromTop < NEAR_EDGE_PX) void ctl.loadOlder();
      if (fromBottom < NEAR_EDGE_PX) void ctl.loadNewer();
    },
  });

  back.addEventListener('click', () => ctl.back());
  let userId: string | null = null;
  profileButton.addEventListener('click', () => {
    if (userId !== null) showProfile(userId, profileButton);
  });
  avatarButton.addEventListener('click', () => {
    if (userId !== null) showProfile(userId, profileButton);
  });

  // Links open in the system browser; the webview never follows them (see guards.ts too).
  scroller.addEventListener('click', (e) => {
    const link = e.target instanceof Element ? e.target.closest<HTMLAnchorElement>('a.link') : null;
    if (link === null) return;
    e.preventDefault();
    void ctl.openUrl(link.href);
  });
  // A message's own items in the context menu (more message actions join these).
  let shown: Message[] = [];
  scroller.addEventListener('contextmenu', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const items: MenuItem[] = [];
    const link = target?.closest<HTMLAnchorElement>('a.link') ?? null;
    if (link !== null) {
      items.push({ label: 'Open link', action: () => ctl.openUrl(link.href) }, { label: 'Copy link address', action: () => void copyToClipboard(link.href) });
    }
    const id = target?.closest<HTMLElement>('.row.message')?.dataset.id;
    const message = id === undefined ? undefined : shown.find((m) => m.id === id);
    if (message !== undefined) items.push({ label: 'Copy text', action: () => void copyToClipboard(message.body) });
    if (items.length > 0) offerMenuItems(e, items);
  });
  verify.addEventListener('click', () => {
    if (safety.isOpen()) safety.close();
    else safety.open(verify);
  });
  heldCompare.addEventListener('click', () => safety.open(heldCompare));
  // Escape closes the safety panel first (the main screen's Escape goes back otherwise).
  element.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented || !safety.isOpen()) return;
    e.preventDefault();
    safety.close();
  });
  jumpLatest.addEventListener('click', () => void ctl.jumpToLatest());

  const autosize = () => {
    composer.style.height = '';
    // Hidden (narrow layout, other pane) or empty: keep the one-line height of the stylesheet.
    if (composer.value === '' || composer.scrollHeight === 0) return;
    composer.style.height = `${Math.min(composer.scrollHeight + 2, 200)}px`;
  };
  composer.addEventListener('input', () => {
    autosize();
    composerError.textContent = '';
    ctl.typing(composer.value);
  });
  composer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = composer.value;
    if (body.trim() === '') return;
    const tooLong = overLimit('A message', body, LIMITS.message);
    if (tooLong !== null) {
      composerError.textContent = tooLong;
      return;
    }
    composer.value = '';
    autosize();
    ctl.send(body).catch((err: unknown) => {
      if (composer.value === '') composer.value = body;
      autosize();
      composerError.textContent = describeError(err);
    });
  });

  let rowsFor: { messages: Message[]; system: unknown; unreadFrom: string | null } | null = null;

  const targetFor = (open: OpenConversation, prevOpen: OpenConversation | null, wasAtBottom: boolean): Target => {
    if (prevOpen === null || prevOpen.userId !== open.userId) return open.highlightId !== null ? { centre: open.highlightId } : 'bottom';
    if (open.highlightId !== null && open.highlightId !== prevOpen.highlightId) return { centre: open.highlightId };
    if (prevOpen.loading === 'initial' && open.loading !== 'initial') return 'bottom';
    const last = open.messages[open.messages.length - 1];
    const prevLast = prevOpen.messages[prevOpen.messages.length - 1];
    if (open.newer === null && last !== undefined && last.id !== prevLast?.id) {
      if (last.direction === 'outgoing' || wasAtBottom) return 'bottom';
    }
    if (open.newer === null && wasAtBottom && open.system !== prevOpen.system) return 'bottom';
    return 'keep';
  };

  return {
    element,
    update(state, prev) {
      const open = state.open;
      // A panel (search, profile, settings) in front hides it, whatever arrives behind.
      element.hidden = open === null || state.nav.panel !== 'chats';
      if (open === null) {
        rowsFor = null;
        userId = null;
        shown = [];
        emoji.close(false);
        return;
      }
      const prevOpen = prev?.open ?? null;
      const changedConversation = prevOpen === null || prevOpen.userId !== open.userId;
      userId = open.userId;
      shown = open.messages;
      element.dataset.userId = open.userId;
      setText(profileButton, open.title);
      setAttr(profileButton, 'title', `Show ${open.title}\u2019s profile`);
      composer.setAttribute('aria-label', `Message ${open.title}`);
      composer.placeholder = state.connection === 'online' ? `Message ${open.title}` : `Message ${open.title} (sent when you're back online)`;
      const contact = state.contacts.find((c) => c.user.id === open.userId);
      setText(presence, contact === undefined ? '' : contact.online ? 'online' : 'offline');
      presence.classList.toggle('online', contact?.online === true);
      // The header's avatar: the contact's picture, initials until it loads.
      const headAvatar = avatarButton.querySelector('.avatar') as HTMLElement;
      const who = findUser(state, open.userId);
      const avatarKey = `${open.userId}|${who?.avatar_url ?? ''}|${open.title}`;
      if (headAvatar.dataset.key !== avatarKey) {
        const fresh = who !== null ? avatarElement(ctl, who, displayName(who)) : el('span', { class: 'avatar' }, open.title.slice(0, 1).toUpperCase());
        fresh.dataset.key = avatarKey;
        headAvatar.replaceWith(fresh);
      }
      // An empty conversation says how to start, and that writing to someone offline is fine.
      empty.hidden = !(open.messages.length === 0 && open.loading === 'none' && open.older === null && open.newer === null);
      setText(empty, `No messages yet. Say hello to ${open.title} \u2014 messages to someone offline are delivered when they come online.`);

      const now = Date.now();
      setText(typing, isTyping(state, open.userId, now) ? `${open.title} is typing\u2026` : '');
      setText(loadOlder, open.loading === 'older' ? 'Loading older messages\u2026' : open.loading === 'initial' ? 'Loading\u2026' : '');
      loadOlder.hidden = loadOlder.textContent === '';
      jumpLatest.hidden = open.newer === null;
      scroller.setAttribute('aria-busy', String(open.loading !== 'none'));
      // The contact's keys: the header's button, and the notice while sending is held.
      trust = trustOf(open.safety);
      setText(verify, verifyLabel(trust));
      setAttr(verify, 'data-trust', trust);
      setAttr(verify, 'title', `Compare safety numbers with ${open.title}`);
      showHeld();
      setText(heldText, `Messages to ${open.title} wait until you compare the new safety number and accept it.`);
      if (changedConversation) safety.close(false);
      safety.update(open);
      if (changedConversation) {
        composerError.textContent = '';
        composer.value = '';
        autosize();
        emoji.close(false);
      }

      const highlightChanged = open.highlightId !== highlightId;
      highlightId = open.highlightId;
      if (changedConversation || rowsFor === null || rowsFor.messages !== open.messages || rowsFor.system !== open.system || rowsFor.unreadFrom !== open.unreadFrom || highlightChanged) {
        const wasAtBottom = list.stuckToBottom;
        rowsFor = { messages: open.messages, system: open.system, unreadFrom: open.unreadFrom };
        const target = targetFor(open, changedConversation ? null : prevOpen, wasAtBottom);
        list.setRows(buildRows(open.messages, open.system, now, undefined, open.unreadFrom), target);

        const last = open.messages[open.messages.length - 1];
        const prevLast = prevOpen?.messages[prevOpen.messages.length - 1];
        if (!changedConversation && prevOpen?.loading === 'none' && last !== undefined && last.id !== prevLast?.id && last.direction === 'incoming') {
          announcer.textContent = `${open.title}: ${last.body.slice(0, 200)}`;
        }
        if (typeof target === 'object') list.node(target.centre)?.focus({ preventScroll: true });
      }
      if (open.loading === 'none' && open.older !== null && scroller.scrollTop < NEAR_EDGE_PX && scroller.clientHeight > 0) {
        queueMicrotask(() => void ctl.loadOlder());
      }
    },
    focusComposer() {
      composer.focus();
    },
    renderedRows() {
      return list.renderedCount;
    },
  };
}
