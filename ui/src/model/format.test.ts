import { describe, expect, it } from 'vitest';
import { dayKey, dayLabel, formatTime, laterState, preview, tickFor } from './format';
import { msg } from './test-fixtures';

const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();

describe('day separators', () => {
  const now = at(2025, 3, 10, 9, 30);
  it('says Today and Yesterday by calendar day, not 24 hours', () => {
    expect(dayLabel(at(2025, 3, 10, 0, 1), now)).toBe('Today');
    expect(dayLabel(at(2025, 3, 9, 23, 59), now)).toBe('Yesterday');
    expect(dayLabel(at(2025, 3, 9, 0, 0), now)).toBe('Yesterday');
    expect(dayLabel(at(2025, 3, 1, 0, 0), at(2025, 3, 2, 0, 0))).toBe('Yesterday');
    expect(dayLabel(at(2024, 12, 31), at(2025, 1, 1, 8))).toBe('Yesterday');
  });
  it('gives the date for older days, with the year only when it differs', () => {
    const older = dayLabel(at(2025, 3, 3), now, 'en-GB');
    expect(older).toContain('Monday');
    expect(older).toContain('March');
    expect(older).not.toContain('2025');
    expect(dayLabel(at(2023, 7, 14), now, 'en-GB')).toContain('2023');
  });
  it('groups by local day', () => {
    expect(dayKey(at(2025, 3, 10, 0, 0))).toBe(dayKey(at(2025, 3, 10, 23, 59)));
    expect(dayKey(at(2025, 3, 10))).not.toBe(dayKey(at(2025, 3, 11)));
  });
});

describe('times', () => {
  it('formats hours and minutes', () => {
    expect(formatTime(at(2025, 3, 10, 9, 5), 'en-GB')).toBe('09:05');
    expect(formatTime(at(2025, 3, 10, 21, 45), 'en-GB')).toBe('21:45');
    expect(formatTime(at(2025, 3, 10, 21, 45), 'en-US')).toMatch(/09:45\sPM/);
  });
});

describe('ticks', () => {
  it('maps delivery states to symbols and labels', () => {
    expect(tickFor('pending')).toMatchObject({ symbol: '◷', label: 'Sending' });
    expect(tickFor('sent')).toMatchObject({ symbol: '✓', label: 'Sent' });
    expect(tickFor('delivered')).toMatchObject({ symbol: '✓✓', label: 'Delivered' });
    expect(tickFor('received').label).toBe('Delivered');
    expect(tickFor('read')).toMatchObject({ symbol: '✓✓', label: 'Read', className: 'tick read' });
  });
  it('never steps back', () => {
    expect(laterState('read', 'delivered')).toBe('read');
    expect(laterState('pending', 'sent')).toBe('sent');
    expect(laterState('delivered', 'received')).toBe('received');
  });
});

describe('preview', () => {
  it('is one line, shortened, with "You:" for our messages', () => {
    expect(preview(msg('a', 1, { body: 'hello\n  world' }))).toBe('hello world');
    expect(preview(msg('a', 1, { body: 'x'.repeat(100) }), 10)).toBe('xxxxxxxxx…');
    expect(preview(msg('a', 1, { body: 'hi', direction: 'outgoing' }))).toBe('You: hi');
    expect(preview(null)).toBe('');
    // Deleted for everyone: no text left, only that it was.
    expect(preview(msg('a', 1, { body: '', deleted: true, direction: 'outgoing' }))).toBe('You deleted a message');
    expect(preview(msg('a', 1, { body: '', deleted: true }))).toBe('A message was deleted');
    // A file: a paperclip and its name, as shown (no bidirectional tricks).
    const file = { name: 'holiday\u202E.jpg', size: 1, mime: 'image/jpeg', sha256: '', width: null, height: null, thumbnail: null, state: 'complete', bytes_done: 1, error: null, path: null, missing: false } as const;
    expect(preview(msg('a', 1, { body: 'holiday.jpg', file }))).toBe('\u{1F4CE} holiday.jpg');
    expect(preview(msg('a', 1, { body: 'holiday.jpg', file, direction: 'outgoing' }))).toBe('You: \u{1F4CE} holiday.jpg');
    expect(preview(msg('a', 1, { body: '', file, deleted: true }))).toBe('A message was deleted');
  });

  it('says how a call went, whoever placed it', () => {
    expect(preview(msg('c', 1, { body: 'Audio call', call: { video: false, outcome: 'missed', duration_ms: null } }))).toBe('Missed audio call');
    expect(preview(msg('c', 1, { body: 'Video call', direction: 'outgoing', call: { video: true, outcome: 'answered', duration_ms: 192_000 } }))).toBe('Outgoing video call · 3:12');
  });
});
