/**
 * The palette on <html>: `data-theme` is `light` or `dark` (all the stylesheet knows) and
 * `data-theme-choice` the setting. The choice is the store's (a theme previewed in Settings goes
 * first); "system" follows the OS, live.
 */
import type { AppState, Store } from '../model/state';
import type { MediaWatch } from '../platform';
import type { Theme } from '../types';

export function showTheme(store: Pick<Store, 'get' | 'subscribe'>, systemDark: MediaWatch, root: HTMLElement = document.documentElement): void {
  const apply = (choice: Theme) => {
    const dark = choice === 'dark' || (choice === 'system' && systemDark.matches());
    root.dataset.theme = dark ? 'dark' : 'light';
    root.dataset.themeChoice = choice;
  };
  const shown = (state: AppState) => state.themePreview ?? state.theme;
  store.subscribe((state: AppState, prev: AppState) => {
    const theme = shown(state);
    if (theme !== null && theme !== shown(prev)) apply(theme);
  });
  // Before the settings are read, the OS decides.
  systemDark.onChange(() => apply(shown(store.get()) ?? 'system'));
}
