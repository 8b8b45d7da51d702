/**
 * The inside of a file message's bubble: the picture's preview (a button that opens the viewer)
 * for images, the file's icon, name (ellipsized in the middle, in full in its `title`), size and
 * type, then the transfer's state line, its progress bar and its buttons. The name is peer text:
 * it only ever goes in as text. What changes while a file travels (`updateFileStatus`) is updated
 * in place, so a focused button keeps the focus.
 */
import { el, reconcile, setAttr, setText } from './dom';
import { ACTION_LABELS, actionName, displayFileName, fileKind, fileStatus, formatSize, previewBox, splitName, thumbnailUrl, type FileAction, type FileContext } from '../model/files';
import type { FileTransfer, Message } from '../types';
import { fileIcon } from './icons';

/** What the static part of a file bubble shows, as a key: made again when it changes. */
export function fileContentKey(file: FileTransfer): string {
  return JSON.stringify([file.name, file.size, file.mime, file.width, file.height, file.thumbnail?.length ?? 0, file.thumbnail?.slice(-24) ?? '']);
}

/** The picture's preview: its box reserved from the image's size, so nothing moves when it loads. */
function previewElement(file: FileTransfer, name: string): HTMLElement | null {
  const src = thumbnailUrl(file);
  if (src === null) return null;
  const box = previewBox(file);
  const img = el('img', { src, alt: '', width: String(box.width), height: String(box.height), decoding: 'async', draggable: 'false' });
  return el('button', { type: 'button', class: 'file-preview', 'aria-label': `Show the picture ${name}`, title: 'Show the picture' }, img);
}

/** The file's name, the start cut with "…" where it does not fit and its end (the extension) always shown. */
function nameElement(name: string): HTMLElement {
  const { head, tail } = splitName(name);
  // <bdi>: a name in another script does not reorder what is around it.
  return el(
    'bdi',
    { class: 'file-name', title: name },
    el('span', { class: 'file-name-head' }, head),
    ...(tail === '' ? [] : [el('span', { class: 'file-name-tail' }, tail)]),
  );
}

/** The parts of a file bubble (after its quote, before its time): preview, card, state. */
export function fileContent(m: Message): HTMLElement[] {
  const file = m.file as FileTransfer;
  const name = displayFileName(file.name);
  const preview = previewElement(file, name);
  const card = el(
    'div',
    { class: 'file-card' },
    el('span', { class: 'file-icon' }, fileIcon()),
    el('div', { class: 'file-info' }, nameElement(name), el('span', { class: 'file-facts' }, `${formatSize(file.size)} \u00b7 ${fileKind(file.name, file.mime)}`)),
  );
  const progress = el('div', { class: 'file-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': `${name} progress` }, el('div', { class: 'file-progress-bar' }));
  const status = el(
    'div',
    { class: 'file-status' },
    progress,
    el('p', { class: 'file-state-text' }),
    el('p', { class: 'file-detail' }),
    el('div', { class: 'file-actions', role: 'group', 'aria-label': `${name}: actions` }),
  );
  return [...(preview === null ? [] : [preview]), card, status];
}

function createAction(action: FileAction): HTMLElement {
  const primary = action === 'accept' || action === 'resume';
  return el('button', { type: 'button', class: primary ? 'file-action primary' : 'file-action', 'data-action': action }, ACTION_LABELS[action]);
}

/** The state line, the progress bar and the buttons as the transfer now is. */
export function updateFileStatus(bubble: HTMLElement, m: Message, ctx: FileContext, inTabOrder: boolean): void {
  const status = bubble.querySelector<HTMLElement>('.file-status');
  const file = m.file;
  if (status === null || file === null) return;
  const name = displayFileName(file.name);
  const s = fileStatus(m, ctx);
  setAttr(bubble, 'data-file-state', file.state);
  setAttr(status, 'data-tone', s.tone);
  const progress = status.querySelector('.file-progress') as HTMLElement;
  progress.hidden = s.progress === null;
  if (s.progress !== null) {
    setAttr(progress, 'aria-valuenow', String(s.progress.percent));
    setAttr(progress, 'aria-valuetext', `${s.progress.percent}%, ${formatSize(s.progress.done)} of ${formatSize(s.progress.size)}`);
    const bar = progress.firstElementChild as HTMLElement;
    const width = `${s.progress.percent}%`;
    if (bar.style.width !== width) bar.style.width = width;
  }
  setText(status.querySelector('.file-state-text') as Element, s.text);
  const detail = status.querySelector('.file-detail') as HTMLElement;
  setText(detail, s.detail.join(' \u00b7 '));
  detail.hidden = s.detail.length === 0;
  const actions = status.querySelector('.file-actions') as HTMLElement;
  reconcile(actions, s.actions, (a) => a, createAction, (node, a) => {
    setAttr(node, 'aria-label', actionName(a, name));
    setAttr(node, 'tabindex', inTabOrder ? '0' : '-1');
  });
  actions.hidden = s.actions.length === 0;
}
