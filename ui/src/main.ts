import { CallEngine } from './calls/engine';
import { DevicePrefs } from './calls/device-prefs';
import { Controller } from './controller';
import { el } from './views/dom';
import { describeError, errorText } from './model/errors';
import { createStore, isSignedIn, totalUnread, windowTitle, type AppState } from './model/state';
import { detectMediaCaps, getUserMedia, inDesktopWindow, systemDark, wideLayout, windowInView } from './platform';
import { createAuthView } from './views/auth';
import { installContextMenu } from './views/context-menu';
import { guardWindow } from './views/guards';
import { createMainScreen, type MainScreen } from './views/shell';
import { createStartupView } from './views/startup';
import { showTheme } from './views/theme';
import type { StartupStatus } from './types';

function showNotInTauri(root: HTMLElement): void {
  root.replaceChildren(
    el(
      'main',
      { id: 'not-tauri', class: 'not-tauri', 'aria-labelledby': 'not-tauri-title' },
      el('h1', { id: 'not-tauri-title' }, 'Parley runs in its desktop window'),
      el('p', {}, 'This page was opened in a plain browser, where the app\u2019s core (accounts, messages, history) is not available.'),
      el('p', {}, 'Start the app with ', el('code', {}, 'cargo tauri dev'), ' (or ', el('code', {}, 'npm run tauri dev'), ' in ui/). To work on the UI alone, run the browser tests\u2019 mock page: see docs/ui.md.'),
    ),
  );
}

/** The start-up screen until one of its ways on opens the profile. */
function untilReady(root: HTMLElement, ctl: Controller, status: StartupStatus, shown: () => void): Promise<void> {
  return new Promise((resolve) => {
    const view = createStartupView(ctl, status, resolve);
    root.replaceChildren(view.element);
    view.focus();
    shown();
  });
}

async function boot(root: HTMLElement): Promise<void> {
  const starting = () => root.replaceChildren(el('p', { class: 'starting', role: 'status' }, 'Starting Parley\u2026'));
  starting();
  const store = createStore();
  // The unread total in the title (the controller tells the backend too, for the native window).
  store.subscribe((state) => {
    const title = windowTitle(totalUnread(state));
    if (document.title !== title) document.title = title;
  });
  const wide = wideLayout();
  const ctl = new Controller(store, { isWide: wide.matches, isFocused: windowInView });

  // The settings can be read before the profile is open: the start-up screen has the theme too.
  showTheme(store, systemDark());
  const themed = ctl.loadTheme();
  ctl.reportMediaCaps(detectMediaCaps());

  // The page's side of calls: it hears `call-signal` events from the start.
  const calls = new CallEngine(ctl, { getUserMedia, prefs: new DevicePrefs() });

  // Listen before the profile opens and before restoring, so that no event is missed.
  await ctl.listen();

  // The frame after a screen is rendered is the first with it in it. The page's first paint came
  // earlier (the static "Starting" line of index.html): its time goes along, as Unix ms. Once.
  let reported = false;
  const reportFirstScreen = () => {
    if (reported) return;
    reported = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        ctl.uiReady(fcp === undefined ? null : performance.timeOrigin + fcp.startTime);
      }, 0),
    );
  };

  // The window always opens; when the profile did not, the start-up screen says why.
  const status = await ctl.startupStatus();
  if (!status.ready) {
    await themed;
    await untilReady(root, ctl, status, reportFirstScreen);
    starting();
  }

  let screen: 'auth' | 'main' | null = null;
  let main: MainScreen | null = null;
  let auth: ReturnType<typeof createAuthView> | null = null;
  const render = (state: AppState, prev: AppState | null) => {
    const want = isSignedIn(state) ? 'main' : 'auth';
    if (want !== screen) {
      screen = want;
      main?.destroy();
      main = null;
      auth = null;
      if (want === 'main') {
        main = createMainScreen(ctl, calls);
        root.replaceChildren(main.element);
        main.update(state, null);
      } else {
        auth = createAuthView(ctl);
        root.replaceChildren(auth.element);
        auth.update(state);
        (root.querySelector('#signin-login') as HTMLInputElement | null)?.focus();
      }
      return;
    }
    main?.update(state, prev);
    auth?.update(state);
  };
  store.subscribe((state, prev) => render(state, prev));

  // A profile still signed in opens on its main screen at once; resuming the session (which may
  // wait for a slow or unreachable server) happens behind it.
  const shownEarly = await ctl.showLocal();
  if (shownEarly) reportFirstScreen();
  const error = await ctl.restore();
  render(store.get(), null);
  reportFirstScreen();
  // A call ringing or going on when the page (re)started.
  void ctl.loadCurrentCall().then((call) => calls.resume(call));
  const authView = auth as ReturnType<typeof createAuthView> | null;
  if (error !== null && error.code !== 'not_signed_in') authView?.showError(errorText(error));

  // Typing indicators expire after 6 s without news.
  setInterval(() => {
    if (Object.keys(store.get().typing).length > 0) store.dispatch({ type: 'expire-typing', now: Date.now() });
  }, 1000);
  const seen = () => ctl.markReadIfViewing();
  window.addEventListener('focus', seen);
  document.addEventListener('visibilitychange', seen);
  wide.onChange(() => {
    // Going wide shows both panes; make sure the conversation's pane is the "current" one.
    if (wide.matches() && store.get().open !== null) ctl.setNav({ pane: 'detail' });
    seen();
  });
}

const root = document.getElementById('app');
if (root === null) throw new Error('#app is missing from index.html');
if (inDesktopWindow()) {
  // Before any screen: no reload, no navigation, no webview context menu, from the first frame.
  guardWindow();
  installContextMenu();
  boot(root).catch((e: unknown) => {
    root.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Parley could not start: ${describeError(e)}`));
  });
} else {
  showNotInTauri(root);
}
