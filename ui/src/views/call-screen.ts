/**
 * The call's screens together, and which one shows: the incoming call card while it rings here;
 * the call screen (`#call-stage`) once placed or answered — or the compact bar (`#call-bar`) while
 * the person reads other conversations or panels; and how it ended (`#call-outcome`). The call is
 * the store's (the core's view of it); its media is the engine's. Screen readers hear a call
 * ringing and how it ended through `#call-announcer`.
 */
import type { CallEngine, CallMedia } from '../calls/engine';
import type { Controller } from '../controller';
import { isLive } from '../model/calls';
import type { AppState } from '../model/state';
import { createCallBar } from './call-bar';
import { createCallOutcome } from './call-outcome';
import { createCallStage } from './call-stage';
import { el, setText } from './dom';
import { callerName, createIncomingCall } from './incoming-call';

export type CallScreen = {
  /** Under the top bar: the compact bar and how the last call ended. */
  bar: HTMLElement;
  outcome: HTMLElement;
  /** Over the conversation pane (the whole layout on narrow screens). */
  stage: HTMLElement;
  /** Floating over everything (never made inert by a dialog). */
  incoming: HTMLElement;
  announcer: HTMLElement;
  update(state: AppState, prev: AppState | null): void;
  destroy(): void;
};

export function createCallScreen(ctl: Controller, calls: CallEngine): CallScreen {
  const announcer = el('div', { id: 'call-announcer', class: 'sr-only', 'aria-live': 'assertive' });
  /** The call screen shows (true) or the bar does, while a call is placed or answered. */
  let expanded = true;
  const show = (on: boolean, focus: boolean) => {
    expanded = on;
    render();
    if (!focus) return;
    if (on) stage.heading.focus({ preventScroll: true });
    else bar.returnButton.focus({ preventScroll: true });
  };
  const stage = createCallStage(ctl, calls, () => show(false, true));
  const bar = createCallBar(calls, () => show(true, true), (text) => setText(announcer, text));
  const outcome = createCallOutcome((id) => ctl.dismissCall(id));
  const incoming = createIncomingCall(ctl, calls);

  let state: AppState = ctl.store.get();
  let media: CallMedia = calls.view;
  /** The call the screen was opened for (a new one opens it again). */
  let openedFor: string | null = null;

  const onStage = (s: AppState) => {
    const call = s.call;
    return isLive(call) && call.phase !== 'ringing-here';
  };

  function render(): void {
    const call = state.call;
    const now = Date.now();
    const staged = onStage(state);
    stage.element.hidden = !(staged && expanded);
    bar.element.hidden = !(staged && !expanded);
    if (call !== null && staged) {
      const name = callerName(state, call);
      // Also while minimized: its <audio> plays the other side, whatever arrives meanwhile.
      stage.update(state, call, name, media, now);
      bar.update(call, name, media, now);
    } else stage.clear();
    incoming.update(state);
    outcome.update(call, call === null ? '' : callerName(state, call), media);
  }

  const stopMedia = calls.subscribe((m) => {
    media = m;
    render();
  });
  // The duration counts on by itself.
  const ticker = setInterval(() => {
    if (state.call?.phase === 'active') render();
  }, 1000);

  return {
    bar: bar.element,
    outcome: outcome.element,
    stage: stage.element,
    incoming: incoming.element,
    announcer,
    update(next, prev) {
      state = next;
      const call = next.call;
      const before = prev?.call ?? null;
      if (call !== before) {
        const focusWasIn = stage.element.contains(document.activeElement) || bar.element.contains(document.activeElement) || incoming.element.contains(document.activeElement);
        // Placed here, or answered: the call screen opens (once per call).
        if (onStage(next) && call !== null && openedFor !== call.id) {
          openedFor = call.id;
          expanded = true;
          render();
          stage.heading.focus({ preventScroll: true });
        } else render();
        if (call !== null && call.phase === 'ringing-here' && before?.id !== call.id) {
          setText(announcer, `Incoming ${call.video ? 'video' : 'audio'} call from ${callerName(next, call)}`);
        }
        if (call !== null && call.phase === 'ended' && before?.phase !== 'ended') {
          const words = outcome.element.hidden ? '' : (outcome.element.querySelector('#call-outcome-text')?.textContent ?? '');
          setText(announcer, words);
          if (focusWasIn) (outcome.element.hidden ? null : outcome.close)?.focus({ preventScroll: true });
        }
        return;
      }
      // Another conversation or panel while the call screen is up: the bar takes its place.
      if (prev !== null && onStage(next) && expanded && (next.open?.userId !== prev.open?.userId || next.nav.panel !== prev.nav.panel)) {
        show(false, false);
        return;
      }
      render();
    },
    destroy() {
      clearInterval(ticker);
      stopMedia();
      stage.destroy();
    },
  };
}
