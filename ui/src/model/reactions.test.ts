import { describe, expect, it } from 'vitest';
import { joinNames, myReaction, QUICK_REACTIONS, reactionAfter, reactionGroups } from './reactions';
import { msg } from './test-fixtures';

const names = (id: string) => ({ bob: 'Bob', carol: 'Carol' })[id] ?? id;

describe('reactions', () => {
  it('offers six quick ones', () => {
    expect(QUICK_REACTIONS.map((q) => q.emoji)).toEqual(['👍', '❤️', '😂', '😮', '😢', '🙏']);
  });

  it('groups them by emoji with a count and who, you first', () => {
    const m = msg('m', 1, { reactions: [{ user_id: 'bob', emoji: '👍' }, { user_id: 'alice', emoji: '👍' }, { user_id: 'carol', emoji: '🎉' }] });
    expect(reactionGroups(m, 'alice', names)).toEqual([
      { emoji: '👍', count: 2, mine: true, names: ['You', 'Bob'], label: '👍 by You and Bob' },
      { emoji: '🎉', count: 1, mine: false, names: ['Carol'], label: '🎉 by Carol' },
    ]);
    expect(reactionGroups(msg('m', 1), 'alice', names)).toEqual([]);
  });

  it("knows yours before your profile is known: in a conversation of two, what isn't the contact's", () => {
    const m = msg('m', 1, { conversation_id: 'bob', reactions: [{ user_id: 'alice', emoji: '😂' }, { user_id: 'bob', emoji: '👍' }] });
    expect(myReaction(m, null)).toBe('😂');
    expect(myReaction(m, 'alice')).toBe('😂');
    expect(myReaction(msg('m', 1), 'alice')).toBeNull();
  });

  it('choosing the emoji you already reacted with takes it back', () => {
    const m = msg('m', 1, { reactions: [{ user_id: 'alice', emoji: '👍' }] });
    expect(reactionAfter(m, 'alice', '👍')).toBeNull();
    expect(reactionAfter(m, 'alice', '❤️')).toBe('❤️');
    expect(reactionAfter(msg('m', 1, { reactions: [{ user_id: 'bob', emoji: '👍' }] }), 'alice', '👍')).toBe('👍');
  });

  it('joins names as a sentence', () => {
    expect(joinNames([])).toBe('');
    expect(joinNames(['You'])).toBe('You');
    expect(joinNames(['You', 'Bob'])).toBe('You and Bob');
    expect(joinNames(['You', 'Bob', 'Carol'])).toBe('You, Bob and Carol');
  });
});
