import { describe, expect, it } from 'vitest';
import { isNavigationKey } from './guards';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe('keys the webview must not act on', () => {
  it('reloading: F5, Ctrl+R, Ctrl+Shift+R, ⌘R', () => {
    expect(isNavigationKey(key('F5'))).toBe(true);
    expect(isNavigationKey(key('r', { ctrlKey: true }))).toBe(true);
    expect(isNavigationKey(key('R', { ctrlKey: true }))).toBe(true);
    expect(isNavigationKey(key('r', { metaKey: true }))).toBe(true);
    expect(isNavigationKey(key('BrowserRefresh'))).toBe(true);
  });
  it('going back or forward, but not moving the caret in a field', () => {
    expect(isNavigationKey(key('ArrowLeft', { altKey: true }))).toBe(true);
    expect(isNavigationKey(key('ArrowLeft', { altKey: true }), true)).toBe(false);
    expect(isNavigationKey(key('BrowserBack'), true)).toBe(true);
  });
  it('leaves typing alone', () => {
    expect(isNavigationKey(key('r'))).toBe(false);
    expect(isNavigationKey(key('ArrowLeft'))).toBe(false);
    expect(isNavigationKey(key('k', { ctrlKey: true }))).toBe(false);
  });
});
