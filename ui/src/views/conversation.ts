/**
 * The open conversation: the header (who, the profile, safety numbers), a virtualized message
 * list with clickable links and the "New messages" divider, typing indicator and the composer
 * with its emoji picker. Each message has its actions (reply, edit, delete, react, copy) in the
 * context menu and behind its "Message actions" button; ↑ ↓ move between messages.
 */
import type { CallEngine } from '../calls/engine';
import type { Controller } from '../controller';
import { callEntry } from '../model/calls';
import { el, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { displayFileName, fileStatus, type FileAction } from '../model/files';
import { findUser } from '../model/people';
import { reactionAfter } from '../model/reactions';
import { routeLabel } from '../model/route';
import { buildRows, type Row } from '../model/rows';
import { trustOf, verifyLabel, type Trust } from '../model/safety';
import { displayName, isTyping, type AppState, type OpenConversation } from '../model/state';
import type { Message } from '../types';
import { avatarElement } from './avatar';
import { createCallButtons } from './call-buttons';
import { createComposer } from './composer';
import type { Ask } from './confirm';
import { copyToClipboard, offerMenuItems, type MenuEntry } from './context-menu';
import { createEmojiGrid } from './emoji-picker';
import { messageMenu, openMessageMenu, type MessageHandlers } from './message-menu';
import { createMessageRow, setCurrent, updateMessageRow, type RowContext } from './message-row';
import { createSafetyPanel } from './safety';
import { readFileBytes, watchFileDrops, type DroppedFiles } from '../platform';
import { VirtualList, type Target } from './virtual-list';

const NEAR_EDGE_PX = 400;

function createRow(row: Row): HTMLElement {
  switch (row.kind) {
    case 'day':
      return el('div', { class: 'row day', role: 'heading', 'aria-level': '3' }, el('span', {}, row.label));
    case 'system':
      return el('div', { class: 'row system', role: 'note' }, el('span', {}, row.line.text));
    case 'unread':
      return el('div', { id: 'unread-divider', class: 'row unread-divider', role: 'separator', 'aria-label': 'New messages' }, el('span', { 'aria-hidden': 'true' }, 'New messages'));
    case 'message':
      return createMessageRow(row.message);
  }
}

/** How often the time left of a running transfer is counted down between its progress events. */
const TRANSFER_TICK_MS = 5000;

/**
 * `showProfile`: opens the contact's profile (the focus goes back to `opener` when it closes);
 * `ask`: the confirmation before deleting a message; `showPicture`: the picture viewer of an
 * image file (the focus goes back to `opener`).
 */
export function createConversationView(
  ctl: Controller,
  calls: CallEngine,
  showProfile: (userId: string, opener: HTMLElement) => void,
  ask: Ask,
  showPicture: (message: Message, opener: HTMLElement) => void,
): {
  element: HTMLElement;
  update(state: AppState, prev: AppState | null): void;
  focusComposer(): void;
  renderedRows(): number;
  destroy(): void;
} {
  const back = el('button', { id: 'back', type: 'button', class: 'back', 'aria-label': 'Back to contacts' }, '\u2190');
  // The name opens the profile; the avatar beside it too, for the pointer (one stop for Tab).
  const profileButton = el('button', { id: 'conversation-profile', type: 'button', class: 'title-button', 'aria-haspopup': 'dialog' });
  const title = el('h2', { id: 'conversation-title' }, profileButton);
  const avatarButton = el('button', { type: 'button', class: 'header-avatar', tabindex: '-1', 'aria-hidden': 'true' }, el('span', { class: 'avatar' }));
  const presence = el('span', { class: 'presence-label' });
  // How the direct channel travels, while one is open: words, and what they mean in its tooltip
  // (and for screen readers, which don't read tooltips, after the words).
  const routeText = el('span', { class: 'route-text' });
  const routeDetail = el('span', { class: 'sr-only' });
  const route = el('span', { id: 'conversation-route', class: 'route-label' }, routeText, routeDetail);
  route.hidden = true;
  const verify = el('button', { id: 'conversation-verify', type: 'button', class: 'verify', 'aria-controls': 'safety-panel', 'aria-expanded': 'false' });
  const callButtons = createCallButtons(ctl, calls);
  const header = el('header', { class: 'conversation-header' }, back, avatarButton, el('div', { class: 'title-block' }, title, el('div', { class: 'title-meta' }, presence, route)), callButtons.element, verify);
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
  // Files dragged over the conversation: where they will go.
  const dropText = el('p', { class: 'drop-text' });
  const dropOverlay = el('div', { id: 'drop-overlay', class: 'drop-overlay', 'aria-hidden': 'true' }, dropText);
  dropOverlay.hidden = true;
  const composer = createComposer(ctl);
  // More reactions than the menu's quick ones: the emoji grid, over the list.
  let reactingTo: Message | null = null;
  const reactionPicker = createEmojiGrid('reaction-picker', 'Choose a reaction', (emoji) => {
    const m = reactingTo;
    reactingTo = null;
    if (m !== null) react(m, emoji);
  });
  reactionPicker.element.classList.add('reaction-picker');
  const element = el(
    'section',
    { id: 'conversation', class: 'conversation', 'aria-labelledby': 'conversation-title' },
    header,
    callButtons.note,
    el('div', { class: 'messages-wrap' }, loadOlder, scroller, empty, jumpLatest, reactionPicker.element, safety.element),
    typing,
    held,
    ...composer.elements,
    announcer,
    dropOverlay,
  );
  element.hidden = true;

  // What the rows show besides their message: kept current by `update`.
  const context: RowContext = { highlightId: null, meId: null, nameOf: (id) => id, contactName: '', contactOnline: false, transfers: {} };
  /** The message in the Tab order (roving focus): the last one focused, else the newest in view. */
  let current: string | null = null;
  let focusedByPerson = false;
  const rowOf = (id: string | null) => (id === null ? undefined : list.node(id));
  const keepCurrent = () => {
    if (focusedByPerson && rowOf(current) !== undefined) return;
    // The one nearest the bottom of the view (where the newest are) that is in it.
    const rows = Array.from(scroller.querySelectorAll<HTMLElement>('.row.message'));
    const view = scroller.getBoundingClientRect();
    const inView = rows.filter((r) => {
      const b = r.getBoundingClientRect();
      return b.bottom > view.top && b.top < view.bottom;
    });
    const pick = inView[inView.length - 1] ?? rows[rows.length - 1];
    if (pick === undefined || pick.dataset.id === current) return;
    const old = rowOf(current);
    if (old !== undefined) setCurrent(old, false);
    current = pick.dataset.id ?? null;
    focusedByPerson = false;
    setCurrent(pick, true);
  };
  const makeCurrent = (row: HTMLElement) => {
    focusedByPerson = true;
    const id = row.dataset.id ?? null;
    if (id === current) return;
    const old = rowOf(current);
    if (old !== undefined) setCurrent(old, false);
    current = id;
    setCurrent(row, true);
  };

  const list = new VirtualList<Row>(scroller, {
    key: (r) => r.key,
    create: createRow,
    update: (node, r) => {
      if (r.kind !== 'message') return;
      updateMessageRow(node, r.message, context);
      setCurrent(node, r.message.id === current);
    },
    weakAnchor: (r) => r.kind === 'day',
    estimate: 64,
    overscan: 400,
    onScroll: (fromTop, fromBottom) => {
      if (fromTop < NEAR_EDGE_PX) void ctl.loadOlder();
      if (fromBottom < NEAR_EDGE_PX) void ctl.loadNewer();
    },
    onRender: keepCurrent,
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

  // --- message actions -------------------------------------------------------------------
  let shown: Message[] = [];
  let contactName = '';
  const showError = (err: unknown) => composer.showError(describeError(err));
  /** The row of `m` gets the focus back (an action from its menu is done), when it is rendered. */
  const focusRow = (m: Message) => rowOf(m.id)?.focus({ preventScroll: true });
  function react(m: Message, emoji: string): void {
    ctl.react(m, reactionAfter(m, context.meId, emoji)).catch(showError);
  }
  const handlers: MessageHandlers = {
    react,
    moreReactions(m) {
      reactingTo = m;
      const row = rowOf(m.id);
      reactionPicker.open(row ?? scroller);
    },
    reply: (m) => composer.startReply(m, context.nameOf(m.sender_id)),
    edit: (m) => composer.startEdit(m),
    copy: (m) => void copyToClipboard(m.body),
    async deleteForEveryone(m) {
      const yes = await ask({
        title: 'Delete this message for everyone?',
        text: `It is replaced by “You deleted this message” here and for ${contactName}. ${contactName} may have read it already.`,
        confirm: 'Delete for everyone',
        danger: true,
      });
      if (!yes) return;
      composer.forget(m.id);
      ctl.deleteMessage(m, true).then(() => focusRow(m), showError);
    },
    async deleteForMe(m) {
      const yes = await ask({
        title: 'Delete this message for you?',
        text: m.deleted ? 'The placeholder disappears from this device.' : `It disappears from this device only. ${contactName} still has their copy.`,
        confirm: 'Delete for me',
        danger: true,
      });
      if (!yes) return;
      composer.forget(m.id);
      // The focus goes on to a message beside it (the row goes away), else to the list.
      const row = rowOf(m.id);
      const beside = [row?.nextElementSibling, row?.previousElementSibling].find((r) => r instanceof HTMLElement && r.matches('.row.message')) as HTMLElement | undefined;
      ctl.deleteMessage(m, false).then(() => {
        if (row?.contains(document.activeElement) === true || document.activeElement === document.body) (beside?.isConnected === true ? beside : scroller).focus({ preventScroll: true });
      }, showError);
    },
  };
  const menuFor = (m: Message): MenuEntry[] => messageMenu(m, context.meId, Date.now(), handlers);

  // --- files -----------------------------------------------------------------------------
  /** A file's button: the command, with the button disabled meanwhile; an error shows under the list. */
  function fileAction(m: Message, action: FileAction, button: HTMLButtonElement): void {
    const run = (): Promise<unknown> => {
      switch (action) {
        case 'accept':
        case 'decline':
        case 'cancel':
        case 'resume':
          return ctl.fileDecision(m, action);
        case 'open':
          return ctl.openFile(m);
        case 'show':
          return ctl.showFile(m);
        case 'save':
          return ctl.saveFileAs(m).then((path) => {
            if (path !== null) announcer.textContent = `Saved as ${path}`;
          });
      }
    };
    button.disabled = true;
    composer.showError('');
    run()
      .catch(showError)
      .finally(() => {
        button.disabled = false;
        // The button may be gone (accepted, cancelled): the focus stays with its message.
        if (!button.isConnected && (document.activeElement === document.body || document.activeElement === null)) focusRow(m);
      });
  }

  /** Files dropped onto the conversation go to its contact: paths from the desktop window, contents elsewhere. */
  async function sendDropped(files: DroppedFiles): Promise<void> {
    if (files.kind === 'paths') {
      await ctl.sendFilePaths(files.paths);
      return;
    }
    for (const file of files.files) await ctl.sendFileBytes(file.name, await readFileBytes(file));
  }
  const stopDrops = watchFileDrops(element, {
    hover(over) {
      dropOverlay.hidden = !over || userId === null || element.hidden;
    },
    drop(files) {
      if (userId === null || element.hidden) return;
      composer.showError('');
      sendDropped(files).catch(showError);
    },
  });
  /** The rows again as they are, at the bottom if the list was there (a file's state line may have grown). */
  const refreshRows = () => {
    if (list.stuckToBottom && rowsFor !== null) list.scrollToBottom();
    else list.refresh();
  };
  // The time left of running transfers counts down between their progress events.
  const ticker = setInterval(() => {
    if (!element.hidden && shown.some((m) => m.file?.state === 'transferring' && !m.deleted)) refreshRows();
  }, TRANSFER_TICK_MS);
  const messageOf = (row: Element | null | undefined): Message | undefined => {
    const id = row instanceof HTMLElement ? row.dataset.id : undefined;
    return id === undefined ? undefined : shown.find((m) => m.id === id);
  };

  // The context menu: a link's items, then the message's actions.
  scroller.addEventListener('contextmenu', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const items: MenuEntry[] = [];
    const link = target?.closest<HTMLAnchorElement>('a.link') ?? null;
    if (link !== null) {
      items.push({ label: 'Open link', action: () => ctl.openUrl(link.href) }, { label: 'Copy link address', action: () => void copyToClipboard(link.href) });
    }
    const message = messageOf(target?.closest('.row.message'));
    if (message !== undefined) items.push(...menuFor(message));
    if (items.length > 0) offerMenuItems(e, items);
  });
  // The buttons in the rows: actions, a reply's quote, a reaction chip.
  scroller.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const button = target?.closest<HTMLButtonElement>('button') ?? null;
    const message = messageOf(target?.closest('.row.message'));
    if (button === null || message === undefined) return;
    if (button.classList.contains('file-action')) fileAction(message, button.dataset.action as FileAction, button);
    else if (button.classList.contains('file-preview')) showPicture(message, button);
    else if (button.classList.contains('message-actions')) openMessageMenu(button, menuFor(message));
    else if (button.classList.contains('reaction')) react(message, button.dataset.emoji ?? '');
    else if (button.classList.contains('quote') && button.dataset.replyTo !== undefined) ctl.showMessage(button.dataset.replyTo).catch(showError);
  });
  // ↑ ↓ move between messages; Enter opens the actions of the one focused.
  scroller.addEventListener('keydown', (e) => {
    const row = e.target instanceof HTMLElement && e.target.matches('.row.message') ? e.target : null;
    if (row === null || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      let next = e.key === 'ArrowUp' ? row.previousElementSibling : row.nextElementSibling;
      while (next !== null && !next.matches('.row.message')) next = e.key === 'ArrowUp' ? next.previousElementSibling : next.nextElementSibling;
      e.preventDefault();
      if (next instanceof HTMLElement) {
        next.focus({ preventScroll: true });
        next.scrollIntoView({ block: 'nearest' });
      }
    } else if (e.key === 'Enter') {
      const message = messageOf(row);
      const button = row.querySelector<HTMLElement>('.message-actions');
      if (message === undefined || button === null) return;
      e.preventDefault();
      openMessageMenu(button, menuFor(message), row);
    }
  });
  // The message focused (by keyboard or pointer) is the one in the Tab order.
  scroller.addEventListener('focusin', (e) => {
    const row = e.target instanceof Element ? e.target.closest<HTMLElement>('.row.message') : null;
    if (row !== null) makeCurrent(row);
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
  // The newest page replaces the one jumped to: shown from its end.
  jumpLatest.addEventListener('click', () => {
    ctl.jumpToLatest().then(() => list.scrollToBottom(), showError);
  });

  let rowsFor: { messages: Message[]; system: unknown; unreadFrom: string | null } | null = null;

  /** A file's transfer ended, or asks for a decision: said once (the bubble shows it too). */
  const announceTransfers = (open: OpenConversation, prevOpen: OpenConversation, state: AppState) => {
    if (open.messages === prevOpen.messages) return;
    const before = new Map(prevOpen.messages.map((m) => [m.id, m.file?.state]));
    for (const m of open.messages) {
      const file = m.file;
      if (file === null || m.deleted) continue;
      const was = before.get(m.id);
      if (was === undefined || was === file.state) continue;
      if (!['complete', 'failed', 'declined', 'awaiting-accept', 'paused'].includes(file.state)) continue;
      const words = fileStatus(m, { contactName: open.title, contactOnline: context.contactOnline, progress: state.transfers[m.id], now: Date.now() });
      announcer.textContent = `${displayFileName(file.name)}: ${words.text}`;
    }
  };

  const targetFor = (open: OpenConversation, prevOpen: OpenConversation | null, wasAtBottom: boolean): Target => {
    if (prevOpen === null || prevOpen.userId !== open.userId) return open.highlightId !== null ? { centre: open.highlightId } : 'bottom';
    if (open.highlightId !== null && open.highlightId !== prevOpen.highlightId) return { centre: open.highlightId };
    if (prevOpen.loading === 'initial' && open.loading !== 'initial') return 'bottom';
    const last = open.messages[open.messages.length - 1];
    const prevLast = prevOpen.messages[prevOpen.messages.length - 1];
    if (open.newer === null && last !== undefined && last.id !== prevLast?.id) {
      if (last.direction === 'outgoing' || wasAtBottom) return 'bottom';
    }
    // At the bottom, it stays there whatever changed (a system line, a reaction or an edit that
    // made a row taller).
    if (open.newer === null && wasAtBottom) return 'bottom';
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
        composer.reset();
        reactionPicker.close(false);
        return;
      }
      const prevOpen = prev?.open ?? null;
      const changedConversation = prevOpen === null || prevOpen.userId !== open.userId;
      userId = open.userId;
      shown = open.messages;
      contactName = open.title;
      element.dataset.userId = open.userId;
      setText(profileButton, open.title);
      setAttr(profileButton, 'title', `Show ${open.title}\u2019s profile`);
      composer.update(state, open, changedConversation);
      callButtons.update(state);
      const contact = state.contacts.find((c) => c.user.id === open.userId);
      setText(presence, contact === undefined ? '' : contact.online ? 'online' : 'offline');
      presence.classList.toggle('online', contact?.online === true);
      const how = routeLabel(contact?.route ?? null);
      route.hidden = how === null;
      setText(routeText, how?.text ?? '');
      setText(routeDetail, how === null ? '' : `: ${how.title}`);
      setAttr(route, 'title', how?.title ?? null);
      setAttr(route, 'data-route', contact?.route ?? null);
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
        current = null;
        focusedByPerson = false;
        reactionPicker.close(false);
      }

      // Names in quotes and reactions: "You", the contact's name (or the conversation's title).
      const meId = state.me?.id ?? null;
      const nameOf = (id: string) => {
        if (id === meId) return 'You';
        const who = findUser(state, id);
        return who !== null ? displayName(who) : open.title;
      };
      const highlightChanged = open.highlightId !== context.highlightId;
      const peopleChanged = meId !== context.meId || prev?.contacts !== state.contacts || prev?.me !== state.me || open.title !== prevOpen?.title;
      const transfersChanged = state.transfers !== context.transfers;
      context.highlightId = open.highlightId;
      context.meId = meId;
      context.nameOf = nameOf;
      context.contactName = open.title;
      context.contactOnline = contact?.online === true;
      context.transfers = state.transfers;
      setText(dropText, `Drop to send to ${open.title}`);
      if (changedConversation || rowsFor === null || rowsFor.messages !== open.messages || rowsFor.system !== open.system || rowsFor.unreadFrom !== open.unreadFrom || highlightChanged) {
        const wasAtBottom = list.stuckToBottom;
        rowsFor = { messages: open.messages, system: open.system, unreadFrom: open.unreadFrom };
        const target = targetFor(open, changedConversation ? null : prevOpen, wasAtBottom);
        list.setRows(buildRows(open.messages, open.system, now, undefined, open.unreadFrom), target);

        const last = open.messages[open.messages.length - 1];
        const prevLast = prevOpen?.messages[prevOpen.messages.length - 1];
        if (!changedConversation && prevOpen?.loading === 'none' && last !== undefined && last.id !== prevLast?.id && last.direction === 'incoming') {
          announcer.textContent =
            last.call !== null
              ? `${open.title}: ${callEntry(last.call, last.direction).text}`
              : last.file !== null
                ? `${open.title} sent a file: ${displayFileName(last.file.name)}`
                : `${open.title}: ${last.body.slice(0, 200)}`;
        } else if (!changedConversation && prevOpen !== null) announceTransfers(open, prevOpen, state);
        if (typeof target === 'object') list.node(target.centre)?.focus({ preventScroll: true });
      } else if (peopleChanged || transfersChanged) refreshRows();
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
    destroy() {
      clearInterval(ticker);
      void stopDrops.then((stop) => stop());
    },
  };
}
