/**
 * Calls in words: how one ended, what the call screen says while it goes on, its duration, the
 * entry it leaves in the conversation, what the other side sends, and why a call can't be placed
 * now. Pure: the call views, the message list and the contact list ask here. Names are peer text:
 * these are strings for text nodes only.
 */
import type { CallEnd, CallPhase, CallRecord, CallView, Connection, Direction, MediaCaps } from '../types';

/** "0:05", "3:12", "1:02:03" (a negative or unknown time is 0:00). */
export function formatCallDuration(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A call that is ringing or going on (an ended one is only kept to say how it ended). */
export function isLive(call: CallView | null): call is CallView {
  return call !== null && call.phase !== 'ended';
}

/** Answered: the media is being connected or flows (the call screen shows instead of the ringing). */
export function isAnswered(call: CallView | null): boolean {
  return call !== null && (call.phase === 'connecting' || call.phase === 'active');
}

const ORDER: Record<CallPhase, number> = { calling: 0, 'ringing-there': 1, 'ringing-here': 1, connecting: 2, active: 3, ended: 4 };

/** Whether `next` is the same call as `current` at an earlier point (an answer that an event overtook). */
export function isOlderView(current: CallView | null, next: CallView): boolean {
  return current !== null && current.id === next.id && ORDER[next.phase] < ORDER[current.phase];
}

const kind = (video: boolean) => (video ? 'video' : 'audio');
const Kind = (video: boolean) => (video ? 'Video' : 'Audio');

/** A reason from the core or the page as the end of a sentence: no final full stop of its own. */
function clause(reason: string): string {
  const r = reason.trim().replace(/[.\s]+$/, '');
  return r === '' ? 'something went wrong' : r;
}

/**
 * How a call ended, in words (null: nothing to show, it gave way to the other person's call
 * placed at the same moment). `name`: the other person.
 */
export function callOutcomeText(call: Pick<CallView, 'end' | 'outgoing' | 'video'>, name: string): string | null {
  const end: CallEnd | null = call.end;
  if (end === null) return null;
  switch (end.kind) {
    case 'declined':
      return end.by === 'me' ? 'You declined the call.' : `${name} declined the call.`;
    case 'busy':
      return call.outgoing ? `${name} is in another call. Try again later.` : `Missed ${kind(call.video)} call from ${name}: you were in another call.`;
    case 'no-answer':
      return `${name} didn\u2019t answer.`;
    case 'cancelled':
      return 'Call cancelled.';
    case 'missed':
      return `Missed ${kind(call.video)} call from ${name}.`;
    case 'answered-elsewhere':
      return 'Answered on another of your devices.';
    case 'declined-elsewhere':
      return 'Declined on another of your devices.';
    case 'unreachable':
      return `${name} couldn\u2019t be reached: none of their devices answered. Try again, or send a message.`;
    case 'unsupported':
      return call.outgoing
        ? `${name} can\u2019t take calls in the Parley they use yet. Send a message instead.`
        : `Missed ${kind(call.video)} call from ${name}: calls are not available in this window yet.`;
    case 'failed':
      return `The call failed: ${clause(end.reason)}.`;
    case 'hung-up':
      return end.by === 'me' ? 'Call ended.' : `${name} hung up.`;
    case 'merged':
      return null;
  }
}

/** The call screen's status line: who is called and how far it got, or how long it has gone on. */
export function callStatusText(call: CallView, name: string, now: number): string {
  switch (call.phase) {
    case 'calling':
      return `Calling ${name}\u2026`;
    case 'ringing-there':
      return `Ringing ${name}\u2026`;
    case 'ringing-here':
      return `Incoming ${kind(call.video)} call`;
    case 'connecting':
      return 'Connecting\u2026';
    case 'active':
      return formatCallDuration(now - (call.answered_at ?? now));
    case 'ended':
      return callOutcomeText(call, name) ?? 'Call ended.';
  }
}

/** What the other side stopped sending (their microphone muted, their camera off), one line each. */
export function remoteMediaText(call: Pick<CallView, 'remote_audio' | 'remote_video' | 'video'>, name: string): string[] {
  const lines: string[] = [];
  if (!call.remote_audio) lines.push(`${name}\u2019s microphone is off`);
  if (call.video && !call.remote_video) lines.push(`${name}\u2019s camera is off`);
  return lines;
}

/** The entry a call leaves in its conversation: its words, and whether it was missed (shown as such). */
export type CallEntry = { text: string; missed: boolean };

export function callEntry(record: CallRecord, direction: Direction): CallEntry {
  const k = kind(record.video);
  const way = direction === 'outgoing' ? 'Outgoing' : 'Incoming';
  switch (record.outcome) {
    case 'answered':
      return { text: `${way} ${k} call \u00b7 ${formatCallDuration(record.duration_ms ?? 0)}`, missed: false };
    case 'missed':
      return { text: `Missed ${k} call`, missed: true };
    case 'declined':
      return { text: `Declined ${k} call`, missed: false };
    case 'busy':
      return { text: `${way} ${k} call \u00b7 busy`, missed: false };
    case 'no-answer':
      return { text: `${way} ${k} call \u00b7 no answer`, missed: false };
    case 'cancelled':
      return { text: `Cancelled ${k} call`, missed: false };
    case 'unreachable':
      return { text: `${way} ${k} call \u00b7 not reachable`, missed: false };
    case 'unsupported':
      return direction === 'outgoing'
        ? { text: `${way} ${k} call \u00b7 they can\u2019t take calls yet`, missed: false }
        : { text: `Missed ${k} call \u00b7 calls aren\u2019t available in this window`, missed: true };
    case 'failed':
      return { text: `${Kind(record.video)} call failed`, missed: false };
    case 'answered-elsewhere':
      return { text: `${way} ${k} call \u00b7 answered on another device`, missed: false };
    case 'declined-elsewhere':
      return { text: `${way} ${k} call \u00b7 declined on another device`, missed: false };
  }
}

/**
 * How this window's calls carry their media (docs/webview-media.md): the webview's own WebRTC;
 * without it, the page's WebCodecs bridged to Rust's (docs/call-media-bridge.md); null: they
 * can't. As Rust's `MediaCaps::call_path`, from the same report.
 */
export function callPath(caps: MediaCaps | null): 'webrtc' | 'bridged' | null {
  if (caps === null || !caps.get_user_media) return null;
  if (caps.rtc_peer_connection) return 'webrtc';
  return caps.web_codecs && caps.audio_worklet ? 'bridged' : null;
}

/** Why a call to someone can't be placed now, in words (null: it can). */
export function callUnavailable(input: {
  caps: MediaCaps | null;
  connection: Connection;
  contactOnline: boolean;
  name: string;
  call: CallView | null;
}): string | null {
  const { caps } = input;
  if (caps !== null && !caps.get_user_media) return 'Calls are not available in this window: it has no access to a camera or microphone.';
  if (callPath(caps) === null) return 'Calls are not available in this window yet: its web engine has no WebRTC.';
  if (input.connection !== 'online') return 'You\u2019re offline: calls need a connection.';
  if (isLive(input.call)) return 'You\u2019re already in a call.';
  if (!input.contactOnline) return `${input.name} is offline: a call needs them online.`;
  return null;
}
