/**
 * Rooms as the sidebar shows them: the name check (the server's rule, in plain words), who is in
 * a joined room, and one way of counting people for both the room line and the directory. Pure.
 */
import { LIMITS, overLimit } from './limits';
import { displayName } from './state';
import type { RoomState, RoomSummary, User } from '../types';

/** Letters of any script, digits, spaces inside, `_ . - #`: parley-protocol's `validate::room`. */
const ROOM_CHARS = /^[\p{L}\p{N} _.\-#]+$/u;

/**
 * What is wrong with a room name as typed (it is trimmed before joining), or null when the
 * server will take it. Empty is not wrong while typing: `join` says "Enter a room name".
 */
export function roomNameProblem(typed: string): string | null {
  const name = typed.trim();
  if (name === '') return null;
  const tooLong = overLimit('A room name', name, LIMITS.room);
  if (tooLong !== null) return tooLong;
  if (!ROOM_CHARS.test(name)) return 'A room name can only have letters, digits, spaces and the signs _ . - #. Remove the other characters.';
  return null;
}

/** One person in a joined room, yourself included. */
export type Member = { user: User; name: string; you: boolean };

/**
 * Who is in a joined room: you first, then the others by name, each person once (a roster lists
 * connections, and one person may be connected from two devices).
 */
export function roomMembers(room: RoomState, me: User | null): Member[] {
  const others = new Map<string, User>();
  for (const p of room.peers) if (p.user.id !== me?.id) others.set(p.user.id, p.user);
  const members = [...others.values()]
    .map((user) => ({ user, name: displayName(user), you: false }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return me === null ? members : [{ user: me, name: displayName(me), you: true }, ...members];
}

/**
 * How many people are in a room, counted the same way wherever it is shown: in a joined room the
 * people of its roster and you; in another room of the directory, the server's count.
 */
export function peopleIn(name: string, joined: readonly RoomState[], directory: readonly RoomSummary[], me: User | null): number {
  const room = joined.find((r) => r.room === name);
  if (room !== undefined) return Math.max(1, roomMembers(room, me).length);
  return directory.find((r) => r.name === name)?.online ?? 0;
}

/** The count's words: "only you", "3 online", "no one online". */
export function peopleText(count: number, youAreIn: boolean): string {
  if (youAreIn && count <= 1) return 'only you';
  if (count === 0) return 'no one online';
  return `${count} online`;
}
