import { describe, expect, it } from 'vitest';
import { splitSnippet } from './snippet';

describe('splitSnippet', () => {
  it('splits on the match markers', () => {
    expect(splitSnippet('say \u0002hello\u0003 to \u0002the\u0003 world')).toEqual([
      { text: 'say ', match: false },
      { text: 'hello', match: true },
      { text: ' to ', match: false },
      { text: 'the', match: true },
      { text: ' world', match: false },
    ]);
  });
  it('keeps markup as plain text', () => {
    expect(splitSnippet('\u0002<b>\u0003x')).toEqual([
      { text: '<b>', match: true },
      { text: 'x', match: false },
    ]);
  });
  it('copes with no, stray and unbalanced markers', () => {
    expect(splitSnippet('plain')).toEqual([{ text: 'plain', match: false }]);
    expect(splitSnippet('')).toEqual([]);
    expect(splitSnippet('a\u0003b')).toEqual([{ text: 'ab', match: false }]);
    expect(splitSnippet('a\u0002b')).toEqual([
      { text: 'a', match: false },
      { text: 'b', match: true },
    ]);
    expect(splitSnippet('\u0002\u0003')).toEqual([]);
  });
});
