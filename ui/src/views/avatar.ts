/** Avatars: initials at once, then the picture through the blob: URL the controller makes. */
import type { Controller } from '../controller';
import { el } from './dom';
import type { User } from '../types';

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter((p) => p !== '');
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0] ?? '?'];
  return letters.map((p) => Array.from(p ?? '?')[0]?.toUpperCase() ?? '').join('');
}

/**
 * A round avatar: initials at once, the picture when it has loaded. Decorative (aria-hidden). A
 * picture that could not be had (asked for before the session was up) is asked for again once
 * the connection is online, while the avatar is still on screen.
 */
export function avatarElement(ctl: Pick<Controller, 'avatar' | 'whenOnline'>, user: User, name: string): HTMLElement {
  const node = el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name));
  node.dataset.avatar = user.avatar_url ?? '';
  const load = () => {
    void ctl.avatar(user).then((url) => {
      if (node.dataset.avatar !== (user.avatar_url ?? '')) return;
      if (url !== null) node.replaceChildren(el('img', { src: url, alt: '' }));
      else if (user.avatar_url !== null) {
        ctl.whenOnline(() => {
          if (node.isConnected) load();
        });
      }
    });
  };
  load();
  return node;
}
