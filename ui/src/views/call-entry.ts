/**
 * The inside of a call's entry in the conversation (a message whose `call` is set): the call's
 * icon and how it went ("Outgoing video call · 3:12", "Missed audio call"); a missed one stands
 * out. Local to this device (never sent), so it has no delivery tick.
 */
import { callEntry } from '../model/calls';
import type { CallRecord, Message } from '../types';
import { el } from './dom';
import { callIcon } from './icons';

export function callEntryContent(m: Message & { call: CallRecord }): HTMLElement[] {
  const entry = callEntry(m.call, m.direction);
  return [
    el(
      'div',
      { class: entry.missed ? 'call-entry missed' : 'call-entry' },
      el('span', { class: 'call-entry-icon' }, callIcon(m.call.video ? 'video' : 'phone')),
      el('span', { class: 'call-entry-text' }, entry.text),
    ),
  ];
}
