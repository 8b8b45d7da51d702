/**
 * What the webview would do by itself and must not: reload (F5, Ctrl+R: the window comes back in
 * a stale state), go back or forward, follow a link inside the app's window (links open in the
 * system browser, through the view that made them), or open something dropped onto it. Once, at
 * start-up, before any screen.
 */

/**
 * Whether a key press asks the webview to reload or to go back or forward. Alt+← and Alt+→ only
 * outside text fields (in one, they move the caret by words on macOS).
 */
export function isNavigationKey(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>, inTextField = false): boolean {
  const key = e.key.toLowerCase();
  if (key === 'f5' || key === 'browserrefresh' || key === 'browserback' || key === 'browserforward') return true;
  if ((e.ctrlKey || e.metaKey) && key === 'r') return true;
  return !inTextField && e.altKey && !e.ctrlKey && !e.metaKey && (key === 'arrowleft' || key === 'arrowright');
}

export function guardWindow(): void {
  // Capture, on the window: before anything else sees the key.
  window.addEventListener(
    'keydown',
    (e) => {
      const inTextField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (isNavigationKey(e, inTextField)) e.preventDefault();
    },
    true,
  );
  // No link navigates this window, whoever made it and however it is clicked (middle and
  // Ctrl+click would open another webview); the views open theirs with `ctl.openUrl()`.
  const noNavigation = (e: MouseEvent) => {
    if (e.target instanceof Element && e.target.closest('a[href]') !== null) e.preventDefault();
  };
  document.addEventListener('click', noNavigation, true);
  document.addEventListener('auxclick', noNavigation, true);
  // A link or file dropped onto the window would replace the app with it; text dropped into a
  // field is fine.
  const noDrop = (e: DragEvent) => {
    const into = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    if (!into) e.preventDefault();
  };
  document.addEventListener('dragover', noDrop);
  document.addEventListener('drop', noDrop);
  // The mouse's back and forward buttons.
  window.addEventListener('mouseup', (e) => {
    if (e.button === 3 || e.button === 4) e.preventDefault();
  });
}
