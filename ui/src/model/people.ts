/** People as the screens name them: who someone is from what the store knows, who wrote a message. Pure. */
import { displayName, type AppState } from './state';
import type { Message, User } from '../types';

/** The freshest profile the store has of `userId`: a contact's, else one from a room's roster. */
export function findUser(state: Pick<AppState, 'contacts' | 'rooms' | 'me'>, userId: string): User | null {
  if (state.me?.id === userId) return state.me;
  const contact = state.contacts.find((c) => c.user.id === userId);
  if (contact !== undefined) return contact.user;
  for (const r of state.rooms) {
    const peer = r.peers.find((p) => p.user.id === userId);
    if (peer !== undefined) return peer.user;
  }
  return null;
}

/**
 * Who wrote a message: "You" for your own, else the sender's name as known, else `fallback`
 * (the conversation's title: in a conversation with one person, that is who wrote it).
 */
export function senderName(state: Pick<AppState, 'contacts' | 'rooms' | 'me'>, message: Message, fallback: string): string {
  if (message.direction === 'outgoing' || (state.me !== null && message.sender_id === state.me.id)) return 'You';
  const user = findUser(state, message.sender_id);
  return user !== null ? displayName(user) : fallback;
}
