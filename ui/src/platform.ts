/**
 * What the OS and the webview say about themselves: whether this is the desktop window, dark or
 * light, wide or narrow, in view, and which media APIs exist. The one module that asks; the rest
 * of the UI gets plain values and change callbacks.
 */
import { isTauri } from '@tauri-apps/api/core';
import type { MediaCaps } from './types';

/** A media query's answer now, and a way to hear when it changes. */
export type MediaWatch = { matches(): boolean; onChange(listener: () => void): void };

function watch(query: string): MediaWatch {
  // Absent outside a browser (unit tests): never matches, never changes.
  const list = typeof matchMedia === 'function' ? matchMedia(query) : null;
  return {
    matches: () => list?.matches === true,
    onChange: (listener) => list?.addEventListener('change', listener),
  };
}

/** Whether the page runs in the desktop window, where the commands exist. */
export function inDesktopWindow(): boolean {
  return isTauri();
}

/** Whether the OS asks for dark colours (the "system" theme follows it, live). */
export function systemDark(): MediaWatch {
  return watch('(prefers-color-scheme: dark)');
}

/** Whether the list and the conversation fit side by side (style.css switches at 720 px). */
export function wideLayout(): MediaWatch {
  return watch('(min-width: 721px)');
}

/** Whether the person can be looking at the window: shown and focused (read receipts wait for it). */
export function windowInView(): boolean {
  return document.visibilityState !== 'hidden' && document.hasFocus();
}

export function detectMediaCaps(w: Window & typeof globalThis = window): MediaCaps {
  const g = w as unknown as Record<string, unknown>;
  return {
    rtc_peer_connection: typeof g.RTCPeerConnection === 'function',
    get_user_media: typeof w.navigator.mediaDevices?.getUserMedia === 'function',
    // What a call without WebRTC encodes and decodes with (docs/call-media-bridge.md): all of it, or none counts.
    web_codecs: ['VideoEncoder', 'VideoDecoder', 'AudioEncoder', 'AudioDecoder'].every((name) => typeof g[name] === 'function'),
    audio_worklet: typeof g.AudioWorkletNode === 'function',
  };
}

/**
 * Calls `onFrame` for the frames `video` plays: at each new one where the webview says
 * (`requestVideoFrameCallback`), else `fps` times a second. A webview that stops saying (a
 * hidden page, a video element not painted) is covered by the timer too. Returns the way to stop.
 */
export function watchVideoFrames(video: HTMLVideoElement, fps: number, onFrame: () => void): () => void {
  let stopped = false;
  /** When the webview last said a frame came (-Infinity: never). */
  let calledAt = -Infinity;
  const every = 1000 / fps;
  const hasCallback = typeof video.requestVideoFrameCallback === 'function';
  let handle = 0;
  const next = () => {
    handle = video.requestVideoFrameCallback(() => {
      if (stopped) return;
      calledAt = performance.now();
      onFrame();
      next();
    });
  };
  if (hasCallback) next();
  const timer = setInterval(() => {
    if (!hasCallback || performance.now() - calledAt > 2 * every) onFrame();
  }, every);
  return () => {
    stopped = true;
    clearInterval(timer);
    if (hasCallback) video.cancelVideoFrameCallback(handle);
  };
}

// --- cameras, microphones and speakers (calls, Settings) ----------------------------------

/** The webview's capture API, or a rejection like `getUserMedia`'s own where there is none. */
export function getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  if (devices === undefined || typeof devices.getUserMedia !== 'function') {
    return Promise.reject(new DOMException('This window has no camera or microphone access.', 'NotSupportedError'));
  }
  return devices.getUserMedia(constraints);
}

/** The cameras, microphones and speakers (without names until the person allowed access once). */
export async function listMediaDevices(): Promise<{ kind: string; deviceId: string; label: string }[]> {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  if (devices === undefined || typeof devices.enumerateDevices !== 'function') return [];
  try {
    return (await devices.enumerateDevices()).map((d) => ({ kind: d.kind, deviceId: d.deviceId, label: d.label }));
  } catch {
    return [];
  }
}

/** Calls `listener` when a device is plugged in or out; returns the way to stop. */
export function watchMediaDevices(listener: () => void): () => void {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  if (devices === undefined || typeof devices.addEventListener !== 'function') return () => undefined;
  devices.addEventListener('devicechange', listener);
  return () => devices.removeEventListener('devicechange', listener);
}

/** Whether sound can be sent to a chosen speaker (`HTMLMediaElement.setSinkId`; not in every webview). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && typeof (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId === 'function';
}

/** Plays `element`'s sound on the speaker `sinkId` (`''`: the system's); nothing where that can't be chosen. */
export async function routeAudio(element: HTMLMediaElement, sinkId: string): Promise<void> {
  const media = element as HTMLMediaElement & { sinkId?: string; setSinkId?: (id: string) => Promise<void> };
  if (typeof media.setSinkId !== 'function' || media.sinkId === sinkId) return;
  await media.setSinkId(sinkId);
}

/** Puts `text` on the clipboard; rejects where the webview does not allow it. */
export function copyText(text: string): Promise<void> {
  const clipboard = typeof navigator === 'undefined' ? undefined : navigator.clipboard;
  if (clipboard === undefined || typeof clipboard.writeText !== 'function') return Promise.reject(new Error('no clipboard'));
  return clipboard.writeText(text);
}

/** Whether the webview hands the clipboard's text to the page (Paste in the context menu). */
export function canReadClipboard(): boolean {
  const clipboard = typeof navigator === 'undefined' ? undefined : navigator.clipboard;
  return clipboard !== undefined && typeof clipboard.readText === 'function';
}

/** The clipboard's text; rejects where the webview does not allow reading it. */
export function readClipboardText(): Promise<string> {
  if (!canReadClipboard()) return Promise.reject(new Error('no clipboard'));
  return navigator.clipboard.readText();
}

/** Files dropped onto the window: paths (the desktop window) or their contents (a plain browser, the browser tests). */
export type DroppedFiles = { kind: 'paths'; paths: string[] } | { kind: 'files'; files: File[] };

export type FileDropHandlers = {
  /** Files are dragged over the zone (true) or away from it (false). */
  hover(over: boolean): void;
  /** Files were dropped onto the zone. */
  drop(files: DroppedFiles): void;
};

/** A native drag this long ago or less makes the page's own drop events repeats of it. */
const NATIVE_ECHO_MS = 1500;

/**
 * Files dragged from the system onto `zone` (while it is shown). The desktop window's webview
 * delivers them as native events with their paths (`onDragDropEvent`: nothing has to be read into
 * the page); where there is none (a plain browser, the browser tests), the page's own drag events
 * carry the files' contents. Resolves to the function that stops listening.
 */
export async function watchFileDrops(zone: HTMLElement, handlers: FileDropHandlers): Promise<() => void> {
  const shown = () => zone.isConnected && zone.getClientRects().length > 0;
  const inside = (x: number, y: number) => {
    const r = zone.getBoundingClientRect();
    return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
  };
  let nativeAt = 0;
  let stopNative: (() => void) | null = null;
  if (isTauri()) {
    try {
      // Loaded when first needed (not part of the start-up bundle).
      const { getCurrentWebview } = await import('@tauri-apps/api/webview');
      const unlisten = await getCurrentWebview().onDragDropEvent((event) => {
        nativeAt = Date.now();
        const p = event.payload;
        if (p.type === 'leave') {
          handlers.hover(false);
          return;
        }
        // Physical pixels from the window's corner; the page counts in CSS pixels.
        const scale = window.devicePixelRatio || 1;
        const over = shown() && inside(p.position.x / scale, p.position.y / scale);
        if (p.type === 'drop') {
          handlers.hover(false);
          if (over && p.paths.length > 0) handlers.drop({ kind: 'paths', paths: p.paths });
        } else handlers.hover(over);
      });
      stopNative = () => void unlisten();
    } catch {
      // No webview to ask (not the real window): the page's own events below do.
    }
  }

  const hasFiles = (e: DragEvent) => e.dataTransfer !== null && Array.from(e.dataTransfer.types).includes('Files');
  // The page's events, where the webview lets them through (never a second time for a native drag).
  const echo = () => Date.now() - nativeAt < NATIVE_ECHO_MS;
  let depth = 0;
  const onEnter = (e: DragEvent) => {
    if (!hasFiles(e) || echo()) return;
    e.preventDefault();
    depth++;
    handlers.hover(true);
  };
  const onOver = (e: DragEvent) => {
    if (!hasFiles(e) || echo()) return;
    // Taken here, also over the text field (which would otherwise insert or open it).
    e.preventDefault();
    if (e.dataTransfer !== null) e.dataTransfer.dropEffect = 'copy';
  };
  const onLeave = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) handlers.hover(false);
  };
  const onDrop = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    handlers.hover(false);
    if (echo()) return;
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length > 0) handlers.drop({ kind: 'files', files });
  };
  zone.addEventListener('dragenter', onEnter);
  zone.addEventListener('dragover', onOver);
  zone.addEventListener('dragleave', onLeave);
  zone.addEventListener('drop', onDrop);
  return () => {
    stopNative?.();
    zone.removeEventListener('dragenter', onEnter);
    zone.removeEventListener('dragover', onOver);
    zone.removeEventListener('dragleave', onLeave);
    zone.removeEventListener('drop', onDrop);
  };
}

/** The contents of a file the page was handed (pasted, dropped); rejects with `file_unreadable` (a folder, a file gone meanwhile). */
export async function readFileBytes(file: File): Promise<Uint8Array> {
  try {
    return new Uint8Array(await file.arrayBuffer());
  } catch {
    throw { code: 'file_unreadable', message: '' };
  }
}
