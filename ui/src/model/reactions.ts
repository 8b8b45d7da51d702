/**
 * Reactions as shown: the quick ones the menu offers, chips grouped by emoji with a count and who
 * reacted, and what choosing an emoji does (the one you already chose takes it back). Pure.
 */
import type { Message, Reaction } from '../types';

/** The quick reactions of the message menu (more come from the emoji picker). */
export const QUICK_REACTIONS: readonly { emoji: string; name: string }[] = [
  { emoji: '\u{1F44D}', name: 'thumbs up' },
  { emoji: '\u2764\uFE0F', name: 'red heart' },
  { emoji: '\u{1F602}', name: 'face with tears of joy' },
  { emoji: '\u{1F62E}', name: 'face with open mouth' },
  { emoji: '\u{1F622}', name: 'crying face' },
  { emoji: '\u{1F64F}', name: 'folded hands' },
];

export type ReactionGroup = {
  emoji: string;
  count: number;
  /** You reacted with it. */
  mine: boolean;
  /** Who reacted, you first: "You", "Bob". */
  names: string[];
  /** The chip's accessible name: "👍 by You and Bob". */
  label: string;
};

/**
 * Whether a reaction is yours. In a conversation of two, a reaction that is not the contact's
 * (the conversation's id) is yours: so it is known also before your profile is (offline start).
 */
export function isMine(r: Reaction, m: Pick<Message, 'conversation_id'>, meId: string | null): boolean {
  return meId !== null ? r.user_id === meId : r.user_id !== m.conversation_id;
}

/** "You", "You and Bob", "You, Bob and Carol". */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] as string}`;
}

/** A message's reactions as chips: one per emoji, in the order they were first chosen. */
export function reactionGroups(m: Pick<Message, 'reactions' | 'conversation_id'>, meId: string | null, nameOf: (userId: string) => string): ReactionGroup[] {
  const groups = new Map<string, { mine: boolean; names: string[] }>();
  for (const r of m.reactions) {
    const g = groups.get(r.emoji) ?? { mine: false, names: [] };
    const mine = isMine(r, m, meId);
    if (mine) {
      g.mine = true;
      g.names.unshift('You');
    } else g.names.push(nameOf(r.user_id));
    groups.set(r.emoji, g);
  }
  return [...groups].map(([emoji, g]) => ({ emoji, count: g.names.length, mine: g.mine, names: g.names, label: `${emoji} by ${joinNames(g.names)}` }));
}

/** Your reaction to a message, if any (one per person). */
export function myReaction(m: Pick<Message, 'reactions' | 'conversation_id'>, meId: string | null): string | null {
  return m.reactions.find((r) => isMine(r, m, meId))?.emoji ?? null;
}

/** What `react` is asked for when you choose `emoji`: it, or null (taken back) when it is already yours. */
export function reactionAfter(m: Pick<Message, 'reactions' | 'conversation_id'>, meId: string | null, emoji: string): string | null {
  return myReaction(m, meId) === emoji ? null : emoji;
}
