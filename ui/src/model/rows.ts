/** The rows of the conversation list: day separators, messages, system lines and the "New messages" divider. Pure. */
import { dayKey, dayLabel } from './format';
import type { SystemLine } from './state';
import type { Message } from '../types';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: Message }
  | { kind: 'system'; key: string; line: SystemLine }
  | { kind: 'unread'; key: string };

/**
 * Messages oldest first; system lines go after the message they followed when they happened;
 * the "New messages" divider right above `unreadFrom` (after its day separator).
 */
export function buildRows(messages: readonly Message[], system: readonly SystemLine[], now: number, locale?: string, unreadFrom: string | null = null): Row[] {
  const rows: Row[] = [];
  const seen = new Map<string, number>();
  let day: string | null = null;
  const separate = (ms: number) => {
    const k = dayKey(ms);
    if (k === day) return;
    day = k;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    rows.push({ kind: 'day', key: n === 1 ? `day-${k}` : `day-${k}-${n}`, label: dayLabel(ms, now, locale) });
  };
  let s = 0;
  const flushSystem = (beforeSeq: number) => {
    while (s < system.length && (system[s] as SystemLine).afterSeq < beforeSeq) {
      const line = system[s++] as SystemLine;
      separate(line.at);
      rows.push({ kind: 'system', key: line.id, line });
    }
  };
  for (const m of messages) {
    flushSystem(m.seq);
    separate(m.sent_at);
    if (m.id === unreadFrom) rows.push({ kind: 'unread', key: 'unread-divider' });
    rows.push({ kind: 'message', key: m.id, message: m });
  }
  flushSystem(Infinity);
  return rows;
}
