/** Times, day separators and delivery ticks. Pure, so tests run without a DOM. */
import { callEntry } from './calls';
import { displayFileName } from './files';
import type { DeliveryState, Message } from '../types';

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** A key that is the same for two times on the same local calendar day. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** "Today", "Yesterday", or the date ("Monday 3 March", with the year when not this year). */
export function dayLabel(ms: number, now: number, locale?: string): string {
  const day = startOfDay(new Date(ms));
  const today = startOfDay(new Date(now));
  if (day === today) return 'Today';
  // Calendar arithmetic rather than 24 h, so daylight saving changes don't matter.
  const n = new Date(now);
  const yesterday = new Date(n.getFullYear(), n.getMonth(), n.getDate() - 1).getTime();
  if (day === yesterday) return 'Yesterday';
  const d = new Date(ms);
  return new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(d.getFullYear() !== n.getFullYear() ? { year: 'numeric' } : {}),
  }).format(d);
}

/** The time of day of a message, like "09:05" or "9:05 AM" depending on the locale. */
export function formatTime(ms: number, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

/** Date and time, for tooltips and search results. */
export function formatDateTime(ms: number, now: number, locale?: string): string {
  return `${dayLabel(ms, now, locale)} ${formatTime(ms, locale)}`;
}

export type Tick = { symbol: string; label: string; className: string };

/** The tick shown after an outgoing message, with its accessible label. */
export function tickFor(state: DeliveryState): Tick {
  switch (state) {
    case 'pending':
      return { symbol: '\u25F7', label: 'Sending', className: 'tick pending' };
    case 'sent':
      return { symbol: '\u2713', label: 'Sent', className: 'tick sent' };
    case 'delivered':
    case 'received':
      return { symbol: '\u2713\u2713', label: 'Delivered', className: 'tick delivered' };
    case 'read':
      return { symbol: '\u2713\u2713', label: 'Read', className: 'tick read' };
  }
}

const ORDER: Record<DeliveryState, number> = { pending: 0, sent: 1, delivered: 2, received: 2, read: 3 };

/** States only move forward: a late "sent" after "delivered" must not step back. */
export function laterState(current: DeliveryState, next: DeliveryState): DeliveryState {
  return ORDER[next] >= ORDER[current] ? next : current;
}

/**
 * A one-line preview of a message for the contact list (a deleted one says so, as it shows; a
 * file is "📎 name"; a call says how it went, "Missed video call", whoever placed it).
 */
export function preview(message: Message | null, max = 80): string {
  if (message === null) return '';
  if (message.deleted) return message.direction === 'outgoing' ? 'You deleted a message' : 'A message was deleted';
  if (message.call !== null) return callEntry(message.call, message.direction).text;
  const shown = message.file !== null ? `\u{1F4CE} ${displayFileName(message.file.name)}` : message.body;
  const line = shown.replace(/\s+/g, ' ').trim();
  const text = line.length > max ? `${line.slice(0, max - 1)}\u2026` : line;
  return message.direction === 'outgoing' ? `You: ${text}` : text;
}
