/**
 * The conversation's composer: the field, *Send*, the emoji picker, *Attach files* (the system's
 * file picker), and the bar above it while replying ("Replying to Bob: first words…") or editing
 * ("Editing message"; the field holds the message, *Save* saves it, the draft comes back
 * afterwards). ✕ or Escape cancels either; ↑ in an empty field edits your last message that can
 * still be edited. Enter sends, Shift+Enter is a new line. An image pasted into the field is sent
 * as a file (text pastes as text).
 */
import type { Controller } from '../controller';
import { el, setAttr, setText } from './dom';
import { describeError } from '../model/errors';
import { pastedName } from '../model/files';
import { LIMITS, overLimit } from '../model/limits';
import { firstWords, lastEditable } from '../model/message-actions';
import type { AppState, OpenConversation } from '../model/state';
import type { Message } from '../types';
import { createEmojiPicker } from './emoji-picker';
import { paperclipIcon } from './icons';
import { readFileBytes } from '../platform';

export type ComposerMode = { kind: 'reply' | 'edit'; message: Message } | null;

export type Composer = {
  /** The bar, the error, the form and the hint, in the order they go in the page. */
  elements: HTMLElement[];
  /** The form (pickers that open above the field go in it). */
  form: HTMLFormElement;
  /** Answers `m`: the bar shows who and what; `author` is who wrote it ("You", "Bob"). */
  startReply(m: Message, author: string): void;
  /** Edits `m` (one of yours, within the edit window) in the field. */
  startEdit(m: Message): void;
  /** Ends replying or editing (an edit's draft comes back). */
  cancel(): void;
  /** The message `id` is gone (deleted for me): a reply to it or its edit ends. */
  forget(id: string): void;
  showError(text: string): void;
  update(state: AppState, open: OpenConversation, changedConversation: boolean): void;
  /** Closes the emoji picker (the conversation closed). */
  reset(): void;
  focus(): void;
};

export function createComposer(ctl: Controller): Composer {
  const barTitle = el('span', { class: 'composer-bar-title' });
  const barQuote = el('span', { class: 'composer-bar-quote' });
  const barCancel = el('button', { id: 'composer-bar-cancel', type: 'button', class: 'close' }, '\u2715');
  const bar = el('div', { id: 'composer-bar', class: 'composer-bar' }, el('p', { id: 'composer-bar-text', class: 'composer-bar-text' }, barTitle, barQuote), barCancel);
  bar.hidden = true;
  const error = el('p', { id: 'composer-error', class: 'error small', role: 'alert' });
  const field = el('textarea', { id: 'composer', rows: '1', 'aria-label': 'Message', placeholder: 'Message', 'aria-describedby': 'composer-hint' });
  const send = el('button', { id: 'send', type: 'submit', class: 'primary' }, 'Send');
  const emoji = createEmojiPicker(field);
  const attach = el('button', { id: 'attach-files', type: 'button', class: 'attach-button', 'aria-label': 'Attach files', title: 'Attach files' }, paperclipIcon());
  const form = el('form', { class: 'composer', 'aria-label': 'Write a message' }, attach, emoji.button, field, send, emoji.element);
  const hint = el('p', { id: 'composer-hint', class: 'sr-only' }, 'Enter sends, Shift+Enter starts a new line. Up arrow in an empty field edits your last message.');

  let mode: ComposerMode = null;
  /** Who wrote the message being answered. */
  let author = '';
  /** What was in the field before an edit took it over. */
  let draft = '';
  let messages: readonly Message[] = [];
  let saving = false;

  const autosize = () => {
    field.style.height = '';
    // Hidden (narrow layout, other pane) or empty: keep the one-line height of the stylesheet.
    if (field.value === '' || field.scrollHeight === 0) return;
    field.style.height = `${Math.min(field.scrollHeight + 2, 200)}px`;
  };
  const setField = (text: string) => {
    field.value = text;
    autosize();
    field.setSelectionRange(text.length, text.length);
  };

  const showMode = () => {
    bar.hidden = mode === null;
    setAttr(bar, 'data-mode', mode?.kind ?? null);
    setAttr(field, 'aria-describedby', mode === null ? 'composer-hint' : 'composer-bar-text composer-hint');
    setText(send, mode?.kind === 'edit' ? 'Save' : 'Send');
    setAttr(form, 'aria-label', mode?.kind === 'edit' ? 'Edit your message' : 'Write a message');
    if (mode === null) return;
    if (mode.kind === 'reply') {
      setText(barTitle, `Replying to ${author === 'You' ? 'yourself' : author}: `);
      setText(barQuote, firstWords(mode.message.body, 80));
      setAttr(barCancel, 'aria-label', 'Cancel the reply');
    } else {
      setText(barTitle, 'Editing message');
      setText(barQuote, ' \u00b7 Escape to cancel');
      setAttr(barCancel, 'aria-label', 'Cancel editing');
    }
    setAttr(barCancel, 'title', mode.kind === 'reply' ? 'Cancel the reply' : 'Cancel editing');
  };

  const end = (restoreDraft: boolean) => {
    const was = mode;
    mode = null;
    showMode();
    if (was?.kind === 'edit' && restoreDraft) {
      setField(draft);
      draft = '';
    }
  };

  const startReply = (m: Message, who: string) => {
    if (mode?.kind === 'edit') end(true);
    mode = { kind: 'reply', message: m };
    author = who;
    showMode();
    field.focus();
  };
  const startEdit = (m: Message) => {
    if (mode?.kind !== 'edit') draft = field.value;
    mode = { kind: 'edit', message: m };
    showMode();
    setText(error, '');
    field.focus();
    setField(m.body);
  };

  // --- files: the picker, and images pasted into the field --------------------------------
  attach.addEventListener('click', () => {
    attach.disabled = true;
    error.textContent = '';
    ctl
      .attachFiles()
      .catch((err: unknown) => {
        error.textContent = describeError(err);
      })
      .finally(() => {
        attach.disabled = false;
        attach.focus();
      });
  });
  field.addEventListener('paste', (e) => {
    const data = e.clipboardData;
    if (data === null) return;
    const files = Array.from(data.files);
    if (files.length === 0) {
      for (const item of Array.from(data.items)) {
        const file = item.kind === 'file' ? item.getAsFile() : null;
        if (file !== null) files.push(file);
      }
    }
    // Text pastes as text (an office program puts a picture of the text on the clipboard too);
    // while editing a message, only text goes in.
    if (files.length === 0 || data.getData('text/plain').trim() !== '' || mode?.kind === 'edit') return;
    e.preventDefault();
    error.textContent = '';
    const now = Date.now();
    void (async () => {
      for (const file of files) {
        await ctl.sendFileBytes(pastedName(file.name, file.type, now), await readFileBytes(file));
      }
    })().catch((err: unknown) => {
      error.textContent = describeError(err);
    });
  });

  barCancel.addEventListener('click', () => {
    end(true);
    field.focus();
  });

  field.addEventListener('input', () => {
    autosize();
    error.textContent = '';
    if (mode?.kind !== 'edit') ctl.typing(field.value);
  });
  field.addEventListener('keydown', (e) => {
    const plain = !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing;
    if (e.key === 'Enter' && plain) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === 'Escape' && mode !== null && !e.defaultPrevented) {
      // Only the reply or the edit ends (the conversation stays).
      e.preventDefault();
      end(true);
    } else if (e.key === 'ArrowUp' && plain && field.value === '' && mode?.kind !== 'edit') {
      const last = lastEditable(messages, Date.now());
      if (last === null) return;
      e.preventDefault();
      startEdit(last);
    }
  });

  const submitEdit = (m: Message, body: string) => {
    if (body.trim() === '') {
      error.textContent = 'A message can\u2019t be empty. To remove it, delete it instead.';
      return;
    }
    if (body === m.body) {
      end(true);
      return;
    }
    saving = true;
    send.disabled = true;
    ctl
      .editMessage(m, body)
      .then(() => {
        if (mode?.kind === 'edit' && mode.message.id === m.id) end(true);
      })
      .catch((err: unknown) => {
        error.textContent = describeError(err);
      })
      .finally(() => {
        saving = false;
        send.disabled = false;
      });
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (saving) return;
    const body = field.value;
    const tooLong = overLimit('A message', body, LIMITS.message);
    if (tooLong !== null) {
      error.textContent = tooLong;
      return;
    }
    if (mode?.kind === 'edit') {
      submitEdit(mode.message, body);
      return;
    }
    if (body.trim() === '') return;
    const replying = mode;
    end(false);
    setField('');
    ctl.send(body, replying?.message.id).catch((err: unknown) => {
      if (field.value === '') setField(body);
      // The reply comes back with the text, unless something else was started meanwhile.
      if (replying !== null && mode === null) {
        mode = replying;
        showMode();
      }
      error.textContent = describeError(err);
    });
  });

  return {
    elements: [bar, error, form, hint],
    form,
    startReply,
    startEdit,
    cancel: () => end(true),
    forget(id) {
      if (mode?.message.id === id) end(true);
    },
    showError(text) {
      error.textContent = text;
    },
    update(state, open, changedConversation) {
      messages = open.messages;
      setAttr(field, 'aria-label', `Message ${open.title}`);
      field.placeholder = state.connection === 'online' ? `Message ${open.title}` : `Message ${open.title} (sent when you're back online)`;
      if (changedConversation) {
        error.textContent = '';
        mode = null;
        draft = '';
        showMode();
        setField('');
        emoji.close(false);
        return;
      }
      // What is being answered or edited was deleted (here or by its author): the bar goes too.
      // (Not loaded any more, after "Jump to latest", is no reason.)
      const now = mode === null ? undefined : open.messages.find((m) => m.id === mode?.message.id);
      if (mode !== null && now !== undefined) {
        if (now.deleted) end(true);
        else mode = { ...mode, message: now };
      }
    },
    reset() {
      emoji.close(false);
    },
    focus() {
      field.focus();
    },
  };
}
