/**
 * The palette on <html>: `data-theme` is `light` or `dark` (all the stylesheet knows) and
 * `data-theme-choice` the setting. The choice is the store's; "system" follows the OS, live.
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
  store.subscribe((state: AppState, prev: AppState) => {
    if (state.theme !== null && state.theme !== prev.theme) apply(state.theme);
  });
  // Before the settings are read, the OS decides.
  systemDark.onChange(() => apply(store.get().theme ?? 'system'));
}
