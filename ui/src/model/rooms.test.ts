import { describe, expect, it } from 'vitest';
import { peopleIn, peopleText, roomMembers, roomNameProblem } from './rooms';
import { user } from './test-fixtures';
import type { RoomState } from '../types';

const alice = user('alice');
const lobby: RoomState = {
  room: 'lobby',
  peers: [
    { peer_id: 'p1', user: user('bob') },
    { peer_id: 'p2', user: user('carol') },
    // Bob again, from his second device.
    { peer_id: 'p3', user: user('bob') },
  ],
};

describe('room names', () => {
  it('says in plain words what the server would refuse, and nothing while it is fine or empty', () => {
    expect(roomNameProblem('')).toBeNull();
    expect(roomNameProblem('   ')).toBeNull();
    expect(roomNameProblem('café #2')).toBeNull();
    expect(roomNameProblem('  lobby  ')).toBeNull();
    expect(roomNameProblem('a/b')).toBe('A room name can only have letters, digits, spaces and the signs _ . - #. Remove the other characters.');
    expect(roomNameProblem('<script>')).toMatch(/only have letters/);
    expect(roomNameProblem('r'.repeat(65))).toBe('A room name can have at most 64 characters.');
    expect(roomNameProblem('😀'.repeat(64))).toMatch(/only have letters/);
  });
});

describe('who is in a room, and how many', () => {
  it('lists you first, then each other person once, by name', () => {
    const members = roomMembers(lobby, alice);
    expect(members.map((m) => [m.user.id, m.you])).toEqual([
      ['alice', true],
      ['bob', false],
      ['carol', false],
    ]);
  });

  it('counts a room the same in its line and in the directory', () => {
    // The server counts connections (Bob's two devices, and you).
    const directory = [{ name: 'lobby', online: 4 }, { name: 'random', online: 1 }, { name: 'empty', online: 0 }];
    const joined = [lobby];
    const line = peopleText(roomMembers(lobby, alice).length, true);
    expect(line).toBe('3 online');
    expect(peopleText(peopleIn('lobby', joined, directory, alice), true)).toBe(line);
    expect(peopleText(peopleIn('random', joined, directory, alice), false)).toBe('1 online');
    expect(peopleText(peopleIn('empty', joined, directory, alice), false)).toBe('no one online');
    const alone: RoomState = { room: 'quiet', peers: [] };
    expect(peopleText(roomMembers(alone, alice).length, true)).toBe('only you');
    expect(peopleText(peopleIn('quiet', [alone], [{ name: 'quiet', online: 1 }], alice), true)).toBe('only you');
  });
});
