import { describe, expect, it } from 'vitest';
import { callEntry, callOutcomeText, callPath, callStatusText, callUnavailable, formatCallDuration, isLive, isOlderView, remoteMediaText } from './calls';
import type { CallEnd, CallView, MediaCaps } from '../types';

function call(extra: Partial<CallView> = {}): CallView {
  return { id: 'c1', user_id: 'bob', outgoing: true, video: true, phase: 'calling', end: null, remote_audio: true, remote_video: true, started_at: 1000, answered_at: null, ...extra };
}
const ended = (end: CallEnd, extra: Partial<CallView> = {}) => call({ phase: 'ended', end, ...extra });
const caps: MediaCaps = { rtc_peer_connection: true, get_user_media: true, web_codecs: true, audio_worklet: true };

describe('formatCallDuration', () => {
  it.each([
    [0, '0:00'],
    [999, '0:00'],
    [5_000, '0:05'],
    [192_000, '3:12'],
    [3_723_000, '1:02:03'],
    [-50, '0:00'],
    [Number.NaN, '0:00'],
  ])('%s ms is %s', (ms, text) => expect(formatCallDuration(ms)).toBe(text));
});

describe('callOutcomeText', () => {
  it.each<[CallEnd, boolean, string | null]>([
    [{ kind: 'declined', by: 'them' }, true, 'Bob declined the call.'],
    [{ kind: 'declined', by: 'me' }, false, 'You declined the call.'],
    [{ kind: 'busy' }, true, 'Bob is in another call. Try again later.'],
    [{ kind: 'no-answer' }, true, 'Bob didn’t answer.'],
    [{ kind: 'cancelled' }, true, 'Call cancelled.'],
    [{ kind: 'missed' }, false, 'Missed video call from Bob.'],
    [{ kind: 'answered-elsewhere' }, false, 'Answered on another of your devices.'],
    [{ kind: 'declined-elsewhere' }, false, 'Declined on another of your devices.'],
    [{ kind: 'unreachable' }, true, 'Bob couldn’t be reached: none of their devices answered. Try again, or send a message.'],
    [{ kind: 'unsupported' }, true, 'Bob can’t take calls in the Parley they use yet. Send a message instead.'],
    [{ kind: 'unsupported' }, false, 'Missed video call from Bob: calls are not available in this window yet.'],
    [{ kind: 'failed', reason: 'connection lost' }, true, 'The call failed: connection lost.'],
    [{ kind: 'failed', reason: 'the microphone could not be started.  ' }, true, 'The call failed: the microphone could not be started.'],
    [{ kind: 'failed', reason: '' }, true, 'The call failed: something went wrong.'],
    [{ kind: 'hung-up', by: 'me' }, true, 'Call ended.'],
    [{ kind: 'hung-up', by: 'them' }, true, 'Bob hung up.'],
    [{ kind: 'merged' }, true, null],
  ])('%j (outgoing %s)', (end, outgoing, text) => {
    expect(callOutcomeText(ended(end, { outgoing }), 'Bob')).toBe(text);
  });

  it('says nothing for a call that has not ended', () => {
    expect(callOutcomeText(call(), 'Bob')).toBeNull();
  });

  it('keeps a hostile name as it is (the views put it in as text)', () => {
    expect(callOutcomeText(ended({ kind: 'hung-up', by: 'them' }), '<img src=x>')).toBe('<img src=x> hung up.');
  });
});

describe('callStatusText', () => {
  it('says where the call is, then how long it has gone on', () => {
    expect(callStatusText(call(), 'Bob', 0)).toBe('Calling Bob…');
    expect(callStatusText(call({ phase: 'ringing-there' }), 'Bob', 0)).toBe('Ringing Bob…');
    expect(callStatusText(call({ phase: 'ringing-here', outgoing: false, video: false }), 'Bob', 0)).toBe('Incoming audio call');
    expect(callStatusText(call({ phase: 'connecting' }), 'Bob', 0)).toBe('Connecting…');
    expect(callStatusText(call({ phase: 'active', answered_at: 10_000 }), 'Bob', 202_500)).toBe('3:12');
    expect(callStatusText(ended({ kind: 'merged' }), 'Bob', 0)).toBe('Call ended.');
  });
});

describe('remoteMediaText', () => {
  it('says what the other side stopped sending; a camera only in a video call', () => {
    expect(remoteMediaText(call(), 'Bob')).toEqual([]);
    expect(remoteMediaText(call({ remote_audio: false, remote_video: false }), 'Bob')).toEqual(['Bob’s microphone is off', 'Bob’s camera is off']);
    expect(remoteMediaText(call({ video: false, remote_video: false }), 'Bob')).toEqual([]);
  });
});

describe('callEntry', () => {
  it.each<[Parameters<typeof callEntry>[0], 'outgoing' | 'incoming', string, boolean]>([
    [{ video: true, outcome: 'answered', duration_ms: 192_400 }, 'outgoing', 'Outgoing video call · 3:12', false],
    [{ video: false, outcome: 'answered', duration_ms: 4_000 }, 'incoming', 'Incoming audio call · 0:04', false],
    [{ video: false, outcome: 'answered', duration_ms: null }, 'incoming', 'Incoming audio call · 0:00', false],
    [{ video: false, outcome: 'missed', duration_ms: null }, 'incoming', 'Missed audio call', true],
    [{ video: true, outcome: 'declined', duration_ms: null }, 'outgoing', 'Declined video call', false],
    [{ video: true, outcome: 'busy', duration_ms: null }, 'outgoing', 'Outgoing video call · busy', false],
    [{ video: true, outcome: 'no-answer', duration_ms: null }, 'outgoing', 'Outgoing video call · no answer', false],
    [{ video: false, outcome: 'cancelled', duration_ms: null }, 'outgoing', 'Cancelled audio call', false],
    [{ video: true, outcome: 'unreachable', duration_ms: null }, 'outgoing', 'Outgoing video call · not reachable', false],
    [{ video: true, outcome: 'unsupported', duration_ms: null }, 'outgoing', 'Outgoing video call · they can’t take calls yet', false],
    [{ video: true, outcome: 'unsupported', duration_ms: null }, 'incoming', 'Missed video call · calls aren’t available in this window', true],
    [{ video: true, outcome: 'failed', duration_ms: null }, 'outgoing', 'Video call failed', false],
    [{ video: true, outcome: 'answered-elsewhere', duration_ms: null }, 'incoming', 'Incoming video call · answered on another device', false],
    [{ video: true, outcome: 'declined-elsewhere', duration_ms: null }, 'incoming', 'Incoming video call · declined on another device', false],
  ])('%j %s: %s', (record, direction, text, missed) => {
    expect(callEntry(record, direction)).toEqual({ text, missed });
  });
});

describe('calls going on', () => {
  it('knows a live call and an answer that an event overtook', () => {
    expect(isLive(null)).toBe(false);
    expect(isLive(call())).toBe(true);
    expect(isLive(ended({ kind: 'cancelled' }))).toBe(false);
    expect(isOlderView(call({ phase: 'ringing-there' }), call())).toBe(true);
    expect(isOlderView(call(), call({ phase: 'ringing-there' }))).toBe(false);
    expect(isOlderView(call({ id: 'c0', phase: 'ended' }), call())).toBe(false);
    expect(isOlderView(null, call())).toBe(false);
  });
});

describe('callPath', () => {
  it('takes the webview’s WebRTC where there is one, else the bridge where WebCodecs and an AudioWorklet are, else none', () => {
    expect(callPath(caps)).toBe('webrtc');
    expect(callPath({ ...caps, web_codecs: false, audio_worklet: false })).toBe('webrtc');
    expect(callPath({ ...caps, rtc_peer_connection: false })).toBe('bridged');
    expect(callPath({ ...caps, rtc_peer_connection: false, web_codecs: false })).toBeNull();
    expect(callPath({ ...caps, rtc_peer_connection: false, audio_worklet: false })).toBeNull();
    expect(callPath({ ...caps, get_user_media: false })).toBeNull();
    expect(callPath(null)).toBeNull();
  });
});

describe('callUnavailable', () => {
  const base = { caps, connection: 'online' as const, contactOnline: true, name: 'Bob', call: null };
  it('is null when a call can be placed', () => expect(callUnavailable(base)).toBeNull());
  it.each([
    [{ caps: { ...caps, rtc_peer_connection: false, web_codecs: false } }, 'Calls are not available in this window yet: its web engine has no WebRTC.'],
    [{ caps: { ...caps, rtc_peer_connection: false, audio_worklet: false } }, 'Calls are not available in this window yet: its web engine has no WebRTC.'],
    [{ caps: null }, 'Calls are not available in this window yet: its web engine has no WebRTC.'],
    [{ caps: { ...caps, get_user_media: false } }, 'Calls are not available in this window: it has no access to a camera or microphone.'],
    [{ connection: 'offline' as const }, 'You’re offline: calls need a connection.'],
    [{ call: call() }, 'You’re already in a call.'],
    [{ contactOnline: false }, 'Bob is offline: a call needs them online.'],
  ])('%j', (change, reason) => {
    expect(callUnavailable({ ...base, ...change })).toBe(reason);
  });
  it('without WebRTC, WebCodecs and an AudioWorklet carry the call (the media bridge)', () => {
    expect(callUnavailable({ ...base, caps: { ...caps, rtc_peer_connection: false } })).toBeNull();
  });
  it('an ended call is no obstacle', () => {
    expect(callUnavailable({ ...base, call: ended({ kind: 'hung-up', by: 'me' }) })).toBeNull();
  });
});
