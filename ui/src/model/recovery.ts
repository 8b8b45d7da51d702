/** The history's recovery code and where its key is kept, as shown to people. Pure. */
import type { StoreKind } from '../types';

/**
 * The code in the pieces it may wrap between: its groups, each but the last with its "-", so
 * that the pieces joined are the code again (copying the shown text gives the code).
 */
export function codeGroups(code: string): string[] {
  const groups = code.trim().split('-').filter((g) => g !== '');
  return groups.map((g, i) => (i < groups.length - 1 ? `${g}-` : g));
}

/** Where the sign-in and the history's key are kept, as a phrase ("… are kept in {phrase}"). */
export function keyringPhrase(kind: StoreKind): string {
  switch (kind) {
    case 'os':
      return 'the system keyring';
    case 'keyutils':
      return 'the Linux kernel keyring (forgotten at restart)';
    case 'memory':
      return 'memory only (forgotten when Parley quits)';
  }
}
