/**
 * The colours of style.css that carry text on message bubbles keep WCAG AA's 4.5:1 in both
 * themes: the delivery ticks and times (`--muted`, `--read` for "read"), links (`--link`), and the
 * text itself. Read from the stylesheet's custom properties, light and dark.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contrast } from './model/contrast';

const css = readFileSync(new URL('./style.css', import.meta.url), 'utf8');

function palette(selector: string): Record<string, string> {
  const start = css.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no ${selector} block`);
  const block = css.slice(start, css.indexOf('}', start));
  return Object.fromEntries([...block.matchAll(/(--[\w-]+):\s*([^;]+);/g)].map((m) => [m[1] as string, (m[2] as string).trim()]));
}

const light = palette(':root');
const dark = { ...light, ...palette(":root[data-theme='dark']") };

describe.each([
  ['light', light],
  ['dark', dark],
])('the %s theme', (_name, colours) => {
  const c = (name: string) => {
    const v = colours[name];
    if (v === undefined) throw new Error(`no ${name}`);
    return v;
  };
  it.each([
    ['--muted', '--out-bubble'], // ◷ ✓ ✓✓ and the time on your messages
    ['--read', '--out-bubble'], // the blue ✓✓
    ['--muted', '--in-bubble'],
    ['--link', '--out-bubble'],
    ['--link', '--in-bubble'],
    ['--text', '--out-bubble'],
    ['--text', '--in-bubble'],
    ['--online', '--surface'], // "online" in the header and the profile
    ['--muted', '--bg'], // "This message was deleted" (no bubble colour behind it)
    ['--ok', '--out-bubble'], // a file's "Delivered"
    ['--ok', '--in-bubble'], // a file's "Received and verified"
    ['--error', '--out-bubble'], // a file's "Failed (…)"
    ['--error', '--in-bubble'],
    ['--warn-text', '--warn-bg'], // a paused file's reason
    ['--link', '--surface-2'], // a file's icon
    ['--muted', '--surface-2'], // the header's "Direct (same network)", a found server's address
    ['--missed', '--in-bubble'], // "Missed video call"
    ['--missed', '--out-bubble'],
    ['--on-call', '--call-accept'], // Answer, the call bar
    ['--on-call', '--call-danger'], // Decline, Hang up
  ])('%s on %s is readable (4.5:1)', (fg, bg) => {
    expect(contrast(c(fg), c(bg))).toBeGreaterThanOrEqual(4.5);
  });
  it('the read ticks differ from the others', () => {
    expect(c('--read')).not.toBe(c('--muted'));
  });
});
