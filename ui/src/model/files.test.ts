import { describe, expect, it } from 'vitest';
import {
  actionName,
  bytesDone,
  displayFileName,
  extensionOf,
  failureText,
  fileAvailable,
  fileKind,
  fileStatus,
  formatSize,
  formatSpeed,
  formatTimeLeft,
  hasPreview,
  pastedName,
  percentOf,
  previewBox,
  secondsLeft,
  splitName,
  thumbnailUrl,
  type FileContext,
  type TransferProgress,
} from './files';
import { msg } from './test-fixtures';
import type { FileTransfer, Message, TransferState } from '../types';

function file(extra: Partial<FileTransfer> = {}): FileTransfer {
  return {
    name: 'report.pdf',
    size: 30_000_000,
    mime: 'application/pdf',
    sha256: 'a'.repeat(64),
    width: null,
    height: null,
    thumbnail: null,
    state: 'waiting',
    bytes_done: 0,
    error: null,
    path: null,
    missing: false,
    ...extra,
  };
}

const incoming = (extra: Partial<FileTransfer> = {}): Message => msg('f1', 1, { body: 'report.pdf', file: file(extra) });
const outgoing = (extra: Partial<FileTransfer> = {}): Message =>
  msg('f2', 2, { direction: 'outgoing', sender_id: 'alice', state: 'sent', body: 'report.pdf', file: file(extra) });
const ctx = (extra: Partial<FileContext> = {}): FileContext => ({ contactName: 'Bob', contactOnline: true, progress: undefined, now: 1_000_000, ...extra });
const progress = (extra: Partial<TransferProgress> = {}): TransferProgress => ({ bytesDone: 12_000_000, size: 30_000_000, bytesPerSec: 150_000, resumedFrom: null, at: 1_000_000, ...extra });

describe('sizes, speeds and time left', () => {
  it('counts sizes in decimal units, as the file managers do', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(999)).toBe('999 B');
    expect(formatSize(1000)).toBe('1.0 KB');
    expect(formatSize(2_411_520)).toBe('2.4 MB');
    expect(formatSize(9_960_000)).toBe('10 MB');
    expect(formatSize(48_200_000)).toBe('48 MB');
    expect(formatSize(999_400)).toBe('999 KB');
    expect(formatSize(999_600)).toBe('1.0 MB');
    expect(formatSize(200 * 1024 * 1024)).toBe('210 MB');
    expect(formatSize(1_300_000_000)).toBe('1.3 GB');
    expect(formatSize(Number.NaN)).toBe('0 B');
    expect(formatSize(-5)).toBe('0 B');
  });

  it('gives speeds per second', () => {
    expect(formatSpeed(4_200_000)).toBe('4.2 MB/s');
    expect(formatSpeed(268_000)).toBe('268 KB/s');
  });

  it('rounds the time left to what a person plans with', () => {
    expect(formatTimeLeft(3)).toBe('a few seconds left');
    expect(formatTimeLeft(45)).toBe('less than a minute left');
    expect(formatTimeLeft(120)).toBe('about 2 min left');
    expect(formatTimeLeft(89 * 60)).toBe('about 89 min left');
    expect(formatTimeLeft(3 * 3600)).toBe('about 3 h left');
    expect(formatTimeLeft(5 * 86400)).toBe('about 5 days left');
    expect(formatTimeLeft(Number.NaN)).toBeNull();
    expect(formatTimeLeft(Number.POSITIVE_INFINITY)).toBeNull();
  });

  it('counts what is left from the last event, less the time since', () => {
    expect(secondsLeft(12_000_000, 30_000_000, progress(), 1_000_000)).toBe(120);
    expect(secondsLeft(12_000_000, 30_000_000, progress(), 1_030_000)).toBe(90);
    expect(secondsLeft(12_000_000, 30_000_000, progress(), 9_000_000)).toBe(0);
    expect(secondsLeft(12_000_000, 30_000_000, progress({ bytesPerSec: 0 }), 1_000_000)).toBeNull();
    expect(secondsLeft(12_000_000, 30_000_000, undefined, 1_000_000)).toBeNull();
  });

  it('never says 100% before the last byte', () => {
    expect(percentOf(0, 100)).toBe(0);
    expect(percentOf(999, 1000)).toBe(99);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(0, 0)).toBe(100);
  });

  it('takes the bytes done from the event, or from the history after a restart', () => {
    expect(bytesDone(file({ bytes_done: 5 }), undefined)).toBe(5);
    expect(bytesDone(file({ bytes_done: 5 }), progress({ bytesDone: 9 }))).toBe(9);
    expect(bytesDone(file({ bytes_done: 50 }), progress({ bytesDone: 9 }))).toBe(50);
    expect(bytesDone(file({ size: 10, bytes_done: 50 }), undefined)).toBe(10);
  });
});

describe('names and kinds', () => {
  it('shows names without control or bidirectional characters', () => {
    expect(displayFileName('\u202Egnp.exe')).toBe('gnp.exe');
    expect(displayFileName('a\u0000b\u2066c\u200f.txt')).toBe('abc.txt');
    expect(displayFileName('<img src=x onerror="1">.png')).toBe('<img src=x onerror="1">.png');
    expect(displayFileName('\u202E')).toBe('file');
  });

  it('keeps the end of a long name (its extension) for an ellipsis in the middle', () => {
    expect(splitName('short.txt')).toEqual({ head: 'short.txt', tail: '' });
    const long = 'Quarterly report of the regional office, final version.pdf';
    const { head, tail } = splitName(long);
    expect(head + tail).toBe(long);
    expect(tail).toBe('version.pdf');
    expect(splitName('a-very-long-name-without-any-extension').tail).toBe('xtension');
    // Never in the middle of an emoji.
    const emoji = splitName('😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀');
    expect(Array.from(emoji.tail)).toHaveLength(8);
  });

  it('says what kind of file it is, from its extension, else its type', () => {
    expect(extensionOf('holiday.JPG')).toBe('jpg');
    expect(extensionOf('.bashrc')).toBe('');
    expect(extensionOf('notes.')).toBe('');
    expect(fileKind('holiday.JPG', 'image/jpeg')).toBe('JPEG image');
    expect(fileKind('report.pdf', 'application/pdf')).toBe('PDF document');
    expect(fileKind('data.xyz', 'application/octet-stream')).toBe('XYZ file');
    expect(fileKind('README', 'text/plain')).toBe('Text');
    expect(fileKind('clip', 'video/mp4')).toBe('Video');
    expect(fileKind('blob', 'application/octet-stream')).toBe('File');
    // The name as shown decides: not "PNG image" for a program.
    expect(fileKind('\u202Egnp.exe', 'image/png')).toBe('Windows program');
  });

  it('names a pasted image by the time it was pasted', () => {
    const at = new Date(2026, 11, 4, 9, 41).getTime();
    expect(pastedName('image.png', 'image/png', at)).toBe('Pasted image 2026-12-04 09.41.png');
    expect(pastedName('', 'image/jpeg', at)).toBe('Pasted image 2026-12-04 09.41.jpg');
    expect(pastedName('image.gif', 'image/gif', at)).toBe('Pasted image 2026-12-04 09.41.gif');
    expect(pastedName('', 'application/pdf', at)).toBe('Pasted file 2026-12-04 09.41');
    expect(pastedName('Budget 2027.xlsx', 'application/vnd.ms-excel', at)).toBe('Budget 2027.xlsx');
  });
});

describe('image previews', () => {
  it('reserves the box of the picture: its aspect, at most 320 px, never larger than the thumbnail', () => {
    expect(previewBox({ width: 4032, height: 3024 })).toEqual({ width: 320, height: 240 });
    expect(previewBox({ width: 3024, height: 4032 })).toEqual({ width: 240, height: 320 });
    expect(previewBox({ width: 100, height: 50 })).toEqual({ width: 100, height: 50 });
    expect(previewBox({ width: 10000, height: 100 })).toEqual({ width: 320, height: 48 });
    expect(previewBox({ width: null, height: null })).toEqual({ width: 320, height: 240 });
  });

  it('puts only base64 into the data: URL', () => {
    expect(thumbnailUrl({ thumbnail: 'AAAA/+9z==' })).toBe('data:image/jpeg;base64,AAAA/+9z==');
    expect(thumbnailUrl({ thumbnail: 'AA"onerror="x' })).toBeNull();
    expect(thumbnailUrl({ thumbnail: '' })).toBeNull();
    expect(thumbnailUrl({ thumbnail: null })).toBeNull();
    expect(hasPreview(file({ thumbnail: 'QUJD' }))).toBe(true);
  });
});

describe('the state line', () => {
  const line = (m: Message, c: FileContext = ctx()) => {
    const s = fileStatus(m, c);
    return { text: s.text, detail: s.detail.join(' · '), actions: s.actions.join(','), tone: s.tone, bar: s.progress?.percent ?? null };
  };

  it('waiting: for the contact to come online, or to start', () => {
    expect(line(outgoing())).toMatchObject({ text: 'Waiting to start', actions: 'cancel', bar: null });
    expect(line(outgoing(), ctx({ contactOnline: false }))).toMatchObject({ text: 'Waiting for Bob to come online', actions: 'cancel' });
    expect(line(incoming())).toMatchObject({ text: 'Queued', actions: 'cancel', detail: '' });
    expect(line(incoming({ bytes_done: 12_000_000 }), ctx({ contactOnline: false }))).toMatchObject({ text: 'Waiting for Bob to come online', detail: '40% received so far' });
  });

  it('awaiting acceptance: the receiver chooses, the sender waits', () => {
    expect(line(incoming({ state: 'awaiting-accept' }))).toMatchObject({ text: '30 MB — accept this file?', actions: 'accept,decline', tone: 'ask' });
    expect(line(outgoing({ state: 'awaiting-accept' }))).toMatchObject({ text: 'Waiting for Bob to accept', actions: 'cancel' });
  });

  it('transferring: percent, bytes, speed, time left, and where a resumed run started', () => {
    const running = incoming({ state: 'transferring', bytes_done: 3_000_000 });
    expect(line(running)).toEqual({ text: 'Receiving 10%', detail: '3.0 MB of 30 MB', actions: 'cancel', tone: 'active', bar: 10 });
    expect(line(running, ctx({ progress: progress() }))).toEqual({
      text: 'Receiving 40%',
      detail: '12 MB of 30 MB · 150 KB/s · about 2 min left',
      actions: 'cancel',
      tone: 'active',
      bar: 40,
    });
    expect(line(outgoing({ state: 'transferring' }), ctx({ progress: progress({ resumedFrom: 12_000_000, bytesPerSec: 0 }) })).detail).toBe('12 MB of 30 MB · Resumed at 40%');
    expect(line(outgoing({ state: 'transferring' }), ctx({ progress: progress() })).text).toBe('Sending 40%');
  });

  it('paused: why, in words, with Resume for the receiver', () => {
    expect(line(incoming({ state: 'paused', error: 'disk_full', bytes_done: 15_000_000 }))).toMatchObject({
      text: 'Paused: the disk is full. Free some space, then resume.',
      actions: 'resume,cancel',
      tone: 'warn',
      bar: 50,
      detail: '50% received',
    });
    expect(line(incoming({ state: 'paused', error: 'downloads_unavailable' })).text).toBe(
      'Paused: the download folder is missing or read-only. Choose another in Settings, then resume.',
    );
    expect(line(outgoing({ state: 'paused' }))).toMatchObject({ text: 'Paused on Bob’s side', actions: 'cancel' });
  });

  it('complete: verified and ready to open, unless it was moved', () => {
    expect(line(incoming({ state: 'complete' }))).toMatchObject({ text: 'Received and verified', actions: 'open,show,save', tone: 'done' });
    expect(line(outgoing({ state: 'complete' }))).toMatchObject({ text: 'Delivered', actions: 'open,show', tone: 'done' });
    expect(line(incoming({ state: 'complete', missing: true }))).toMatchObject({ text: 'File moved or deleted', actions: '' });
    expect(line(outgoing({ state: 'complete', missing: true }))).toMatchObject({ text: 'File moved or deleted', actions: '' });
  });

  it('declined and cancelled', () => {
    expect(line(incoming({ state: 'declined' }))).toMatchObject({ text: 'Declined', actions: '' });
    expect(line(outgoing({ state: 'declined' }))).toMatchObject({ text: 'Bob declined this file', actions: '' });
    expect(line(incoming({ state: 'declined', error: 'too_many' })).text).toBe('Too many files waiting from this person');
    expect(line(outgoing({ state: 'cancelled' }))).toMatchObject({ text: 'Cancelled', actions: '', tone: 'muted' });
  });

  it('failed: what happened and what to do, per code and side', () => {
    const failed = (error: string | null, out = false) => line((out ? outgoing : incoming)({ state: 'failed', error })).text;
    expect(failed('source_changed', true)).toBe('The file changed after it was sent — send it again');
    expect(failed('source_changed')).toBe('The file changed after it was sent — ask for it again');
    expect(failed('source_missing')).toBe('The file was moved or deleted on the sender’s computer');
    expect(failed('hash_mismatch')).toBe('The file did not arrive intact — ask for it again');
    expect(failed('too_many')).toBe('Too many files waiting from this person');
    expect(failed('weird_thing')).toBe('Failed (weird_thing)');
    expect(failed(null)).toBe('Failed (unknown)');
    expect(line(incoming({ state: 'failed', error: 'hash_mismatch' })).tone).toBe('error');
    expect(failureText('too_many', true, 'Bob')).toBe('Too many files are waiting for Bob — try again later');
  });

  it('covers every state the core has', () => {
    const states: TransferState[] = ['waiting', 'awaiting-accept', 'transferring', 'paused', 'complete', 'declined', 'cancelled', 'failed'];
    for (const state of states) for (const m of [incoming({ state }), outgoing({ state })]) expect(fileStatus(m, ctx()).text).not.toBe('');
  });

  it('names each button with its file', () => {
    expect(actionName('cancel', 'holiday.jpg')).toBe('Cancel holiday.jpg');
    expect(actionName('accept', 'holiday.jpg')).toBe('Accept holiday.jpg');
    expect(actionName('show', 'holiday.jpg')).toBe('Show in folder: holiday.jpg');
  });

  it('knows when the file is on this device', () => {
    expect(fileAvailable(outgoing())).toBe(true);
    expect(fileAvailable(outgoing({ missing: true }))).toBe(false);
    expect(fileAvailable(incoming({ state: 'transferring' }))).toBe(false);
    expect(fileAvailable(incoming({ state: 'complete' }))).toBe(true);
    expect(fileAvailable(msg('t', 3))).toBe(false);
  });
});
