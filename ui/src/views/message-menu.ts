/**
 * A message's actions as menu entries, for the app's context menu (right-click, the menu key) and
 * for the message's own "Message actions" button: the quick reactions in a row (yours checked:
 * choosing it again takes it back) with "More reactions", then Reply, Edit, Copy text, Delete for
 * everyone and Delete for me, as `model/message-actions.ts` allows them.
 */
import { messageActions, type MessageAction } from '../model/message-actions';
import { QUICK_REACTIONS, myReaction } from '../model/reactions';
import type { Message } from '../types';
import { showContextMenu, type MenuEntry, type MenuItem } from './context-menu';

/** What each action does (the conversation view's). */
export type MessageHandlers = {
  react(m: Message, emoji: string): void;
  moreReactions(m: Message): void;
  reply(m: Message): void;
  edit(m: Message): void;
  copy(m: Message): void;
  deleteForEveryone(m: Message): void;
  deleteForMe(m: Message): void;
};

const LABELS: Record<Exclude<MessageAction, 'react'>, string> = {
  reply: 'Reply',
  edit: 'Edit',
  copy: 'Copy text',
  'delete-everyone': 'Delete for everyone',
  'delete-me': 'Delete for me',
};

export function messageMenu(m: Message, meId: string | null, now: number, act: MessageHandlers): MenuEntry[] {
  const entries: MenuEntry[] = [];
  const run: Record<Exclude<MessageAction, 'react'>, () => void> = {
    reply: () => act.reply(m),
    edit: () => act.edit(m),
    copy: () => act.copy(m),
    'delete-everyone': () => act.deleteForEveryone(m),
    'delete-me': () => act.deleteForMe(m),
  };
  for (const action of messageActions(m, now)) {
    if (action === 'react') {
      const mine = myReaction(m, meId);
      const row: MenuItem[] = QUICK_REACTIONS.map((q) => ({
        label: q.emoji,
        name: mine === q.emoji ? `Remove your ${q.name} reaction` : `React with ${q.name}`,
        checked: mine === q.emoji,
        action: () => act.react(m, q.emoji),
      }));
      row.push({ label: '+', name: 'More reactions', action: () => act.moreReactions(m) });
      entries.push({ row, label: 'React' });
    } else entries.push({ label: action === 'copy' && m.file !== null ? 'Copy file name' : LABELS[action], action: run[action] });
  }
  return entries;
}

/**
 * Opens the menu under the "Message actions" button (above it where there is no room below); the
 * focus goes back to `opener` (the button, or the message it was opened from) when it closes.
 */
export function openMessageMenu(button: HTMLElement, entries: readonly MenuEntry[], opener: HTMLElement = button): void {
  const r = button.getBoundingClientRect();
  showContextMenu(entries, r.left, r.bottom, opener, r.top);
}
