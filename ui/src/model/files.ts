/**
 * File messages as a person reads them: sizes, speeds and time left in words, a file's type, its
 * name made safe to show (and split for an ellipsis in the middle), the name of a pasted image,
 * the preview's box, and the state line of a transfer with the actions it offers, per state,
 * direction and error code (docs/file-protocol.md). Pure.
 */
import type { FileTransfer, Message } from '../types';

/** A running transfer's last `transfer-progress` event, as the store keeps it. */
export type TransferProgress = {
  /** Bytes durably stored on the receiver. */
  bytesDone: number;
  size: number;
  /** Recent speed; 0 when not known yet. */
  bytesPerSec: number;
  /** Where this run started, when it continued an interrupted one. */
  resumedFrom: number | null;
  /** When the event came (ms, this device's clock). */
  at: number;
};

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;

/**
 * A size in decimal units, as the file managers show them (1 KB = 1,000 bytes): "999 B",
 * "4.2 MB", "42 MB", "1.3 GB". One decimal below 10, none from there.
 */
export function formatSize(bytes: number): string {
  let v = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
  let i = 0;
  while (i < UNITS.length - 1 && v >= 999.5) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  return `${v < 9.95 ? v.toFixed(1) : String(Math.round(v))} ${UNITS[i]}`;
}

/** "4.2 MB/s". */
export function formatSpeed(bytesPerSec: number): string {
  return `${formatSize(bytesPerSec)}/s`;
}

/** How long is left, roughly: "a few seconds left", "about 2 min left", "about 3 h left"; null when unknown. */
export function formatTimeLeft(seconds: number): string | null {
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 10) return 'a few seconds left';
  if (seconds < 60) return 'less than a minute left';
  if (seconds < 90 * 60) return `about ${Math.max(1, Math.round(seconds / 60))} min left`;
  if (seconds < 48 * 3600) return `about ${Math.round(seconds / 3600)} h left`;
  return `about ${Math.round(seconds / 86400)} days left`;
}

/** Whole percent done, never 100 before the last byte (0 bytes of 0: 100). */
export function percentOf(done: number, size: number): number {
  if (size <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((done * 100) / size)));
}

/**
 * Seconds left of a running transfer at `now`: what is left at its last event's speed, less the
 * time since that event (events come about every 16 MiB). Null while the speed is not known.
 */
export function secondsLeft(done: number, size: number, progress: TransferProgress | undefined, now: number): number | null {
  if (progress === undefined || progress.bytesPerSec <= 0) return null;
  const left = (size - done) / progress.bytesPerSec - Math.max(0, now - progress.at) / 1000;
  return Math.max(0, left);
}

/**
 * A name as it may be shown: without control characters and bidirectional controls (a name like
 * "\u202Egnp.exe" must not pass for "exe.png"; the core removes them from names it receives, and
 * this holds for any name); "file" when nothing is left.
 */
export function displayFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = withoutBidi(name).replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return clean === '' ? 'file' : clean;
}

/** Text without the bidirectional controls that could make "gnp.exe" read as "exe.png" (a file's name in a search hit). */
export function withoutBidi(text: string): string {
  return text.replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '');
}

/**
 * A long name cut for an ellipsis in the middle: the head (which gets the "…" where there is no
 * room) and the tail that always shows (the extension and a few characters before it). Short
 * names are all head.
 */
export function splitName(name: string): { head: string; tail: string } {
  const chars = Array.from(name);
  if (chars.length <= 20) return { head: name, tail: '' };
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? Array.from(name.slice(dot)).length : 0;
  const keep = ext > 0 && ext <= 10 ? ext + 7 : 8;
  return { head: chars.slice(0, chars.length - keep).join(''), tail: chars.slice(chars.length - keep).join('') };
}

/** The extension of a name, lower case, without the dot ("" when it has none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return '';
  const ext = name.slice(dot + 1).toLowerCase();
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : '';
}

const KINDS: Record<string, string> = {
  png: 'PNG image',
  jpg: 'JPEG image',
  jpeg: 'JPEG image',
  gif: 'GIF image',
  webp: 'WebP image',
  heic: 'HEIC image',
  avif: 'AVIF image',
  bmp: 'BMP image',
  tif: 'TIFF image',
  tiff: 'TIFF image',
  svg: 'SVG image',
  pdf: 'PDF document',
  txt: 'Text',
  md: 'Markdown text',
  rtf: 'Rich text',
  doc: 'Word document',
  docx: 'Word document',
  odt: 'Text document',
  xls: 'Spreadsheet',
  xlsx: 'Spreadsheet',
  ods: 'Spreadsheet',
  csv: 'CSV table',
  ppt: 'Presentation',
  pptx: 'Presentation',
  odp: 'Presentation',
  zip: 'ZIP archive',
  gz: 'Gzip archive',
  tgz: 'Gzip archive',
  tar: 'Tar archive',
  '7z': '7-Zip archive',
  rar: 'RAR archive',
  mp3: 'MP3 audio',
  wav: 'WAV audio',
  ogg: 'Ogg audio',
  opus: 'Opus audio',
  flac: 'FLAC audio',
  m4a: 'M4A audio',
  mp4: 'MP4 video',
  mov: 'QuickTime video',
  mkv: 'Matroska video',
  webm: 'WebM video',
  avi: 'AVI video',
  exe: 'Windows program',
  msi: 'Windows installer',
  dmg: 'Disk image',
  iso: 'Disk image',
  apk: 'Android app',
  deb: 'Debian package',
  rpm: 'RPM package',
};

/**
 * What kind of file it is, in words: from the extension (what the person's system goes by too),
 * else the MIME type's family, else "File". The MIME type is the sender's hint, only words here.
 */
export function fileKind(name: string, mime: string): string {
  const ext = extensionOf(displayFileName(name));
  const known = KINDS[ext];
  if (known !== undefined) return known;
  if (ext !== '') return `${ext.toUpperCase()} file`;
  const family = mime.split('/')[0]?.toLowerCase() ?? '';
  if (family === 'image') return 'Image';
  if (family === 'audio') return 'Audio';
  if (family === 'video') return 'Video';
  if (family === 'text') return 'Text';
  return 'File';
}

const IMAGE_EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
  'image/heic': 'heic',
};

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The name a pasted file is sent under: its own when it has a real one (copied in a file
 * manager), else "Pasted image 2026-12-04 09.41.png" (local time; the extension from the type).
 */
export function pastedName(name: string, mime: string, now: number): string {
  const own = name.trim();
  const generic = own === '' || /^(image|blob|clipboard)(\.\w+)?$/i.test(own);
  if (!generic) return own;
  const d = new Date(now);
  const stamp = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}.${pad(d.getMinutes())}`;
  const type = mime.toLowerCase();
  const ext = IMAGE_EXTENSIONS[type] ?? extensionOf(own);
  if (type.startsWith('image/') || IMAGE_EXTENSIONS[type] !== undefined) return `Pasted image ${stamp}.${ext === '' ? 'png' : ext}`;
  return ext === '' ? `Pasted file ${stamp}` : `Pasted file ${stamp}.${ext}`;
}

/** The box of an image's preview in the bubble: its aspect, at most `max` px either way, never upscaled past the thumbnail (400 px). */
export function previewBox(file: Pick<FileTransfer, 'width' | 'height'>, max = 320): { width: number; height: number } {
  const w = file.width ?? 0;
  const h = file.height ?? 0;
  if (w <= 0 || h <= 0) return { width: max, height: Math.round((max * 3) / 4) };
  const scale = Math.min(1, max / w, max / h, 400 / Math.max(w, h));
  // A panorama or a sliver still gets a box that can be seen and clicked (cropped to fit).
  return { width: Math.max(48, Math.round(w * scale)), height: Math.max(48, Math.round(h * scale)) };
}

/** Whether a file message shows its picture (the core made a thumbnail of it). */
export function hasPreview(file: FileTransfer): boolean {
  return thumbnailUrl(file) !== null;
}

/** Only base64 goes into a `data:` URL (the core hands out its own JPEG; anything else shows no preview). */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The thumbnail as a `data:` URL for an <img>, or null when there is none (or it is not base64). */
export function thumbnailUrl(file: Pick<FileTransfer, 'thumbnail'>): string | null {
  const thumb = file.thumbnail;
  return thumb === null || !BASE64.test(thumb) ? null : `data:image/jpeg;base64,${thumb}`;
}

export type FileAction = 'accept' | 'decline' | 'cancel' | 'resume' | 'open' | 'show' | 'save';

/** How a state line looks: waiting, asking, running, done, paused, failed, or over without a file. */
export type FileTone = 'pending' | 'ask' | 'active' | 'done' | 'warn' | 'error' | 'muted';

export type FileStatus = {
  /** The state in words: "Waiting for Bob to accept", "Receiving 40%", "Delivered". */
  text: string;
  /** Facts after it, shown joined by " · ": "12 MB of 30 MB", "4.2 MB/s", "about 2 min left", "Resumed at 40%". */
  detail: string[];
  tone: FileTone;
  /** The progress bar, while it runs. */
  progress: { done: number; size: number; percent: number } | null;
  /** The buttons, in the order they show. */
  actions: FileAction[];
};

export type FileContext = {
  /** The contact's name ("Bob"). */
  contactName: string;
  /** Whether the contact is online now. */
  contactOnline: boolean;
  /** The transfer's last progress event, if one came since the app started. */
  progress: TransferProgress | undefined;
  now: number;
};

/** What the buttons say (the accessible names add the file's name: `actionName`). */
export const ACTION_LABELS: Record<FileAction, string> = {
  accept: 'Accept',
  decline: 'Decline',
  cancel: 'Cancel',
  resume: 'Resume',
  open: 'Open',
  show: 'Show in folder',
  save: 'Save as\u2026',
};

/** A button's accessible name: what it does to which file ("Cancel holiday.jpg"). */
export function actionName(action: FileAction, name: string): string {
  switch (action) {
    case 'show':
      return `Show in folder: ${name}`;
    case 'save':
      return `Save as: ${name}`;
    default:
      return `${ACTION_LABELS[action]} ${name}`;
  }
}

/** Why a transfer failed, in words that say what to do; `outgoing`: we are the sender. */
export function failureText(code: string | null, outgoing: boolean, contactName: string): string {
  switch (code) {
    case 'source_changed':
      return outgoing ? 'The file changed after it was sent \u2014 send it again' : 'The file changed after it was sent \u2014 ask for it again';
    case 'source_missing':
      return outgoing ? 'The file was moved or deleted on this computer \u2014 send it again' : 'The file was moved or deleted on the sender\u2019s computer';
    case 'hash_mismatch':
      return outgoing ? 'The file did not arrive intact \u2014 send it again' : 'The file did not arrive intact \u2014 ask for it again';
    case 'too_many':
      return outgoing ? `Too many files are waiting for ${contactName} \u2014 try again later` : 'Too many files waiting from this person';
    case 'disk_full':
      return outgoing ? `${contactName}\u2019s disk is full` : 'The disk is full';
    case 'downloads_unavailable':
      return outgoing ? `${contactName}\u2019s download folder is not available` : 'The download folder is missing or read-only';
    case 'declined':
      return outgoing ? `${contactName} declined this file` : 'Declined';
    case 'cancelled':
      return 'Cancelled';
    default:
      return `Failed (${code ?? 'unknown'})`;
  }
}

/** Why a transfer is paused, and what to do. */
export function pausedText(code: string | null, outgoing: boolean, contactName: string): string {
  if (outgoing) return `Paused on ${contactName}\u2019s side`;
  switch (code) {
    case 'disk_full':
      return 'Paused: the disk is full. Free some space, then resume.';
    case 'downloads_unavailable':
      return 'Paused: the download folder is missing or read-only. Choose another in Settings, then resume.';
    default:
      return 'Paused';
  }
}

/** Bytes done as best known: the last event's, or what the history recorded (after a restart). */
export function bytesDone(file: FileTransfer, progress: TransferProgress | undefined): number {
  return Math.min(file.size, Math.max(file.bytes_done, progress?.bytesDone ?? 0));
}

/**
 * The state line of a file message and its buttons, per state and direction (docs/file-protocol.md).
 * `m.file` must be set.
 */
export function fileStatus(m: Message, ctx: FileContext): FileStatus {
  const file = m.file as FileTransfer;
  const out = m.direction === 'outgoing';
  const name = ctx.contactName;
  const done = bytesDone(file, ctx.progress);
  const percent = percentOf(done, file.size);
  const status = (text: string, tone: FileTone, actions: FileAction[], detail: string[] = []): FileStatus => ({
    text,
    detail,
    tone,
    progress: null,
    actions,
  });
  switch (file.state) {
    case 'waiting': {
      const text = ctx.contactOnline ? (out ? 'Waiting to start' : 'Queued') : `Waiting for ${name} to come online`;
      return status(text, 'pending', ['cancel'], !out && done > 0 ? [`${percent}% received so far`] : []);
    }
    case 'awaiting-accept':
      return out
        ? status(`Waiting for ${name} to accept`, 'pending', ['cancel'])
        : status(`${formatSize(file.size)} \u2014 accept this file?`, 'ask', ['accept', 'decline']);
    case 'transferring': {
      const detail = [`${formatSize(done)} of ${formatSize(file.size)}`];
      const p = ctx.progress;
      if (p !== undefined && p.bytesPerSec > 0) {
        detail.push(formatSpeed(p.bytesPerSec));
        const left = formatTimeLeft(secondsLeft(done, file.size, p, ctx.now) ?? Number.NaN);
        if (left !== null) detail.push(left);
      }
      if (p?.resumedFrom !== null && p?.resumedFrom !== undefined) detail.push(`Resumed at ${percentOf(p.resumedFrom, file.size)}%`);
      return {
        text: `${out ? 'Sending' : 'Receiving'} ${percent}%`,
        detail,
        tone: 'active',
        progress: { done, size: file.size, percent },
        actions: ['cancel'],
      };
    }
    case 'paused':
      return {
        ...status(pausedText(file.error, out, name), 'warn', out ? ['cancel'] : ['resume', 'cancel'], [`${percent}% ${out ? 'sent' : 'received'}`]),
        progress: { done, size: file.size, percent },
      };
    case 'complete':
      if (file.missing) return status('File moved or deleted', 'muted', []);
      return status(out ? 'Delivered' : 'Received and verified', 'done', out ? ['open', 'show'] : ['open', 'show', 'save']);
    case 'declined':
      return status(file.error === 'too_many' ? failureText('too_many', out, name) : failureText('declined', out, name), 'muted', []);
    case 'cancelled':
      return status('Cancelled', 'muted', []);
    case 'failed':
      return status(failureText(file.error, out, name), 'error', []);
  }
}

/** Whether the file of a message is on this device (the sender's own file, or one received in full). */
export function fileAvailable(m: Message): boolean {
  const file = m.file;
  if (file === null || file.missing) return false;
  return m.direction === 'outgoing' || file.state === 'complete';
}

/** Whether a transfer is over (nothing more will happen to it). */
export function transferFinished(file: FileTransfer): boolean {
  return file.state === 'complete' || file.state === 'declined' || file.state === 'cancelled' || file.state === 'failed';
}
