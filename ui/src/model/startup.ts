/** The start-up screen's decisions, from the app's `StartupStatus`. Pure. */
import type { StartupStatus } from '../types';

/**
 * Which start-up screen a status asks for: `ready` (none: go on), `keyring` (no keyring to keep
 * secrets in, or it is locked), `locked` (the history's key is gone: the recovery code opens it),
 * or `other` (any other failure: its message and "Try again").
 */
export type StartupScreen = 'ready' | 'keyring' | 'locked' | 'other';

export function startupScreen(status: Pick<StartupStatus, 'ready' | 'code'>): StartupScreen {
  if (status.ready) return 'ready';
  if (status.code === 'keyring_unavailable') return 'keyring';
  if (status.code === 'history_locked') return 'locked';
  return 'other';
}

/** A core message as a sentence: capital first letter, a full stop at the end. */
export function asSentence(text: string): string {
  const t = text.trim();
  if (t === '') return '';
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** What to tell a person whose "Try again" found the same problem as before. */
export function retryOutcome(before: Pick<StartupStatus, 'code'>, after: StartupStatus): string | null {
  if (after.ready || after.code !== before.code) return null;
  return 'That did not help: Parley still could not open your profile.';
}
