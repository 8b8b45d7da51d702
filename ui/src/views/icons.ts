/**
 * The few line icons the UI draws (a paperclip, a file, the call controls): empty elements that style.css paints with
 * a mask of a `data:` SVG in the text colour (`currentColor`). No SVG element is ever in the page
 * (the safety number's QR code must only be an image's URL, and a test checks there is none), and
 * nothing is parsed. Hidden from screen readers: the control they are in has the name.
 */
import { el } from './dom';

function icon(name: string): HTMLElement {
  return el('span', { class: `icon icon-${name}`, 'aria-hidden': 'true' });
}

/** The paperclip of *Attach files*. */
export function paperclipIcon(): HTMLElement {
  return icon('paperclip');
}

/** A sheet with a folded corner: a file in a bubble. */
export function fileIcon(): HTMLElement {
  return icon('file');
}

/** The call icons: a handset, a video camera, a microphone (struck through: muted), a camera struck through, devices, minimize. */
export type CallIcon = 'phone' | 'video' | 'mic' | 'mic-off' | 'video-off' | 'hang-up' | 'devices' | 'minimize';

export function callIcon(name: CallIcon): HTMLElement {
  return icon(name);
}
