import { describe, expect, it } from 'vitest';
import { buildRows } from './rows';
import { msg } from './test-fixtures';

const at = (d: number, h: number) => new Date(2025, 2, d, h).getTime();

describe('buildRows', () => {
  it('puts a day separator before the first message of each day', () => {
    const rows = buildRows([msg('a', 1, { sent_at: at(8, 10) }), msg('b', 2, { sent_at: at(9, 9) }), msg('c', 3, { sent_at: at(9, 11) })], [], at(9, 12));
    expect(rows.map((r) => (r.kind === 'day' ? r.label : r.key))).toEqual(['Yesterday', 'a', 'Today', 'b', 'c']);
  });
  it('places system lines after the message they followed', () => {
    const rows = buildRows(
      [msg('a', 1, { sent_at: at(9, 10) }), msg('b', 2, { sent_at: at(9, 11) })],
      [
        { id: 'sys-1', text: 'Bob joined lobby.', at: at(9, 10), afterSeq: 1 },
        { id: 'sys-2', text: 'Connection lost.', at: at(9, 12), afterSeq: 2 },
        { id: 'sys-0', text: 'first', at: at(9, 9), afterSeq: -Infinity },
      ].sort((x, y) => x.afterSeq - y.afterSeq),
      at(9, 13),
    );
    expect(rows.map((r) => r.key)).toEqual(['day-2025-3-9', 'sys-0', 'a', 'sys-1', 'b', 'sys-2']);
  });
  it('keeps keys unique when clocks go back a day', () => {
    const rows = buildRows([msg('a', 1, { sent_at: at(9, 10) }), msg('b', 2, { sent_at: at(8, 10) }), msg('c', 3, { sent_at: at(9, 11) })], [], at(9, 12));
    const keys = rows.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
  it('puts the "New messages" divider above the first unread message, after its day', () => {
    const rows = buildRows([msg('a', 1, { sent_at: at(8, 10) }), msg('b', 2, { sent_at: at(9, 9) }), msg('c', 3, { sent_at: at(9, 11) })], [], at(9, 12), undefined, 'b');
    expect(rows.map((r) => r.key)).toEqual(['day-2025-3-8', 'a', 'day-2025-3-9', 'unread-divider', 'b', 'c']);
    expect(buildRows([msg('a', 1)], [], at(9, 12), undefined, 'gone').some((r) => r.kind === 'unread')).toBe(false);
  });
});
