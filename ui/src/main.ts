import { Controller } from './controller';
import { el } from './views/dom';
import { errorText } from './model/errors';
import { createStore, isSignedIn, type AppState } from './model/state';
import { detectMediaCaps, inDesktopWindow, systemDark, wideLayout, windowInView } from './platform';
import { createAuthView } from './views/auth';
import { createMainScreen, type MainScreen } from './views/shell';
import { showTheme } from './views/theme';

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

async function boot(root: HTMLElement): Promise<void> {
  root.replaceChildren(el('p', { class: 'starting', role: 'status' }, 'Starting Parley\u2026'));
  const store = createStore();
  const wide = wideLayout();
  const ctl = new Controller(store, { isWide: wide.matches, isFocused: windowInView });

  showTheme(store, systemDark());
  ctl.loadTheme();
  ctl.reportMediaCaps(detectMediaCaps());

  // Listen before restoring so that no event is missed.
  await ctl.listen();

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
        main = createMainScreen(ctl);
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

  // The frame after a screen is rendered is the first with it in it. The page's first paint came
  // earlier (the static "Starting" line of index.html): its time goes along, as Unix ms.
  const reportFirstScreen = () =>
    requestAnimationFrame(() =>
      setTimeout(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        ctl.uiReady(fcp === undefined ? null : performance.timeOrigin + fcp.startTime);
      }, 0),
    );
  // A profile still signed in opens on its main screen at once; resuming the session (which may
  // wait for a slow or unreachable server) happens behind it.
  const shownEarly = await ctl.showLocal();
  if (shownEarly) reportFirstScreen();
  const error = await ctl.restore();
  render(store.get(), null);
  if (!shownEarly) reportFirstScreen();
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
  boot(root).catch((e: unknown) => {
    root.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Parley could not start: ${String(e)}`));
  });
} else {
  showNotInTauri(root);
}
