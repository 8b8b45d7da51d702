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
    web_codecs: typeof g.VideoEncoder === 'function',
    audio_worklet: typeof g.AudioWorkletNode === 'function',
  };
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
