/**
 * The picture viewer (`#picture-viewer`): an image file at full size, in a modal dialog over the
 * main screen. The thumbnail shows at once, upscaled, in the picture's own box, with a spinner,
 * while the full picture (`picture`, re-encoded by the core) loads; it then takes its place.
 * *Open*, *Save as…* and *Show in folder* while the file is on this device. A picture that can't
 * be shown says so in words and the dialog stays usable. Escape, ✕ or a click beside it closes
 * it; the focus goes back to the preview that opened it; the picture's `blob:` URL is revoked.
 */
import type { Controller } from '../controller';
import { el, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { displayFileName, fileAvailable, thumbnailUrl } from '../model/files';
import type { AppState } from '../model/state';
import type { Message } from '../types';
import { createModal } from './modal';

export type PictureViewer = {
  element: HTMLElement;
  open(message: Message, opener: HTMLElement): void;
  close(): void;
  isOpen(): boolean;
  /** The file may arrive (or go) while the viewer is open: its buttons follow, and the full picture loads then. */
  update(state: AppState): void;
};

/** `background`: the parts of the screen behind the dialog, made inert while it is open. */
export function createPictureViewer(ctl: Controller, background: readonly HTMLElement[]): PictureViewer {
  const title = el('h2', { id: 'picture-viewer-title', class: 'viewer-title' });
  const close = el('button', { id: 'picture-viewer-close', type: 'button', class: 'close', 'aria-label': 'Close the picture', title: 'Close (Escape)' }, '\u2715');
  const thumb = el('img', { class: 'viewer-thumb', alt: '' });
  const full = el('img', { id: 'picture-viewer-image', class: 'viewer-full' });
  const spinner = el('div', { class: 'spinner', 'aria-hidden': 'true' });
  const frame = el('div', { class: 'viewer-frame' }, thumb, full, spinner);
  const status = el('p', { id: 'picture-viewer-status', class: 'viewer-status', role: 'status' });
  const error = el('p', { id: 'picture-viewer-error', class: 'error viewer-error', role: 'alert' });
  const openButton = el('button', { id: 'picture-viewer-open', type: 'button', class: 'primary' }, 'Open');
  const saveButton = el('button', { id: 'picture-viewer-save', type: 'button' }, 'Save as\u2026');
  const showButton = el('button', { id: 'picture-viewer-show', type: 'button' }, 'Show in folder');
  const actions = el('div', { class: 'dialog-actions' }, showButton, saveButton, openButton);
  const dialog = el(
    'div',
    { id: 'picture-viewer', class: 'dialog picture-viewer', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'picture-viewer-title' },
    el('div', { class: 'viewer-head' }, title, close),
    frame,
    status,
    error,
    actions,
  );
  const element = el('div', { class: 'modal-backdrop viewer-backdrop' }, dialog);
  const modal = createModal(element, background, () => hide());

  let message: Message | null = null;
  /** The full picture's URL while shown (revoked on closing). */
  let url: string | null = null;
  /** Which opening a load belongs to (a late answer for an earlier one is dropped). */
  let generation = 0;
  let loading = false;

  const setAspect = (width: number, height: number) => {
    // Sizes the box (CSSOM, which the CSP allows): the picture's aspect, as large as the window lets it be.
    const ratio = width / height;
    frame.style.aspectRatio = `${width} / ${height}`;
    frame.style.width = `min(100%, calc((100vh - 13rem) * ${ratio.toFixed(4)}))`;
  };

  const showActions = () => {
    const here = message !== null && fileAvailable(message);
    actions.hidden = !here;
  };

  const load = () => {
    const m = message;
    if (m === null || loading || url !== null || !fileAvailable(m)) return;
    const gen = ++generation;
    loading = true;
    frame.setAttribute('aria-busy', 'true');
    spinner.hidden = false;
    setText(status, 'Loading the picture\u2026');
    setText(error, '');
    ctl
      .picture(m)
      .then((got) => {
        if (gen !== generation) {
          URL.revokeObjectURL(got);
          return;
        }
        url = got;
        full.onload = () => {
          if (gen !== generation) return;
          if (full.naturalWidth > 0 && full.naturalHeight > 0) setAspect(full.naturalWidth, full.naturalHeight);
          full.hidden = false;
          spinner.hidden = true;
          setText(status, '');
        };
        full.onerror = () => {
          if (gen !== generation) return;
          spinner.hidden = true;
          setText(status, '');
          setText(error, describeError({ code: 'picture_unavailable', message: '' }));
        };
        full.src = got;
      })
      .catch((err: unknown) => {
        if (gen !== generation) return;
        spinner.hidden = true;
        setText(status, '');
        setText(error, describeError(err));
      })
      .finally(() => {
        if (gen !== generation) return;
        loading = false;
        frame.removeAttribute('aria-busy');
      });
  };

  const hide = () => {
    if (!modal.isOpen()) return;
    generation++;
    loading = false;
    modal.hide();
    message = null;
    full.hidden = true;
    full.removeAttribute('src');
    thumb.removeAttribute('src');
    if (url !== null) URL.revokeObjectURL(url);
    url = null;
  };

  /** Runs one of the buttons: an error shows in the dialog, which stays open. */
  const act = (button: HTMLButtonElement, run: (m: Message) => Promise<unknown>) => {
    const m = message;
    if (m === null) return;
    button.disabled = true;
    setText(error, '');
    run(m)
      .catch((err: unknown) => setText(error, describeError(err)))
      .finally(() => {
        button.disabled = false;
      });
  };
  close.addEventListener('click', hide);
  openButton.addEventListener('click', () => act(openButton, (m) => ctl.openFile(m)));
  showButton.addEventListener('click', () => act(showButton, (m) => ctl.showFile(m)));
  saveButton.addEventListener('click', () =>
    act(saveButton, (m) =>
      ctl.saveFileAs(m).then((path) => {
        if (path !== null) setText(status, `Saved as ${path}`);
      }),
    ),
  );

  return {
    element,
    open(m, opener) {
      const file = m.file;
      if (file === null) return;
      hide();
      message = m;
      const name = displayFileName(file.name);
      setText(title, name);
      setAttr(title, 'title', name);
      setAttr(full, 'alt', name);
      setAspect(file.width ?? 4, file.height ?? 3);
      const preview = thumbnailUrl(file);
      if (preview !== null) thumb.src = preview;
      full.hidden = true;
      spinner.hidden = true;
      setText(error, '');
      setText(status, fileAvailable(m) ? '' : waitingText(m));
      showActions();
      modal.show(close, opener);
      load();
    },
    close: hide,
    isOpen: modal.isOpen,
    update(state) {
      if (message === null) return;
      const now = state.open?.messages.find((m) => m.id === message?.id);
      if (now === undefined || now === message) return;
      if (now.deleted || now.file === null) {
        hide();
        return;
      }
      message = now;
      showActions();
      if (fileAvailable(now)) load();
      else if (url === null) setText(status, waitingText(now));
    },
  };
}

/** Why only the preview shows: the file has not arrived (yet), or is gone. */
function waitingText(m: Message): string {
  const file = m.file;
  if (file === null) return '';
  if (file.missing) return 'The file was moved or deleted: only its preview is left.';
  if (file.state === 'complete' || m.direction === 'outgoing') return '';
  if (file.state === 'declined' || file.state === 'cancelled' || file.state === 'failed') return 'The file did not arrive: only its preview is here.';
  return 'This is the preview. The full picture shows once the file has arrived.';
}
