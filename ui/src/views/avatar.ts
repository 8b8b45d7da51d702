/** Avatars: bytes from the `avatar` command shown through blob: URLs (the CSP allows only those). */
import type { Api } from '../api';
import { el } from './dom';
import type { User } from '../types';

const cache = new Map<string, Promise<string | null>>();

export function toBytes(data: ArrayBuffer | Uint8Array | number[]): Uint8Array<ArrayBuffer> {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return Uint8Array.from(data);
  return new Uint8Array(data);
}

/** A blob: URL of the user's avatar, or null when there is none. Cached per avatar URL. */
export function avatarUrl(api: Api, user: User): Promise<string | null> {
  if (user.avatar_url === null) return Promise.resolve(null);
  const key = `${user.id}|${user.avatar_url}`;
  let url = cache.get(key);
  if (url === undefined) {
    url = api
      .avatar(user.id)
      .then((data) => {
        const bytes = toBytes(data);
        return bytes.byteLength === 0 ? null : URL.createObjectURL(new Blob([bytes]));
      })
      .catch(() => null);
    cache.set(key, url);
  }
  return url;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter((p) => p !== '');
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0] ?? '?'];
  return letters.map((p) => Array.from(p ?? '?')[0]?.toUpperCase() ?? '').join('');
}

/** A round avatar: initials at once, the picture when it has loaded. Decorative (aria-hidden). */
export function avatarElement(api: Api, user: User, name: string): HTMLElement {
  const node = el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name));
  node.dataset.avatar = user.avatar_url ?? '';
  void avatarUrl(api, user).then((url) => {
    if (url !== null && node.dataset.avatar === (user.avatar_url ?? '')) {
      node.replaceChildren(el('img', { src: url, alt: '' }));
    }
  });
  return node;
}
