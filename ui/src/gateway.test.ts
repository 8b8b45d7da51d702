/**
 * The layering of docs/ui.md, checked on the source text: the controller is the one way to the
 * backend, views only call it, only platform.ts asks the webview about itself, and model/ stays pure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('.', import.meta.url));

type Source = { file: string; text: string; imports: { from: string; typeOnly: boolean }[] };

function sources(dir = SRC): Source[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) return [];
    const text = readFileSync(path, 'utf8');
    const imports = [...text.matchAll(/^import\s+(?:(type\s+)?[^;']*?from\s+)?'([^']+)';/gm)].map((m) => ({
      from: m[2] as string,
      typeOnly: m[1] !== undefined,
    }));
    return [{ file: relative(SRC, path).replaceAll('\\', '/'), text, imports }];
  });
}

const all = sources();
const isApi = (from: string) => /(^|\/)api$/.test(from);

describe('the layering', () => {
  it('finds the sources', () => {
    expect(all.map((s) => s.file)).toEqual(expect.arrayContaining(['controller.ts', 'api.ts', 'views/shell.ts', 'model/state.ts']));
    expect(all.find((s) => s.file === 'controller.ts')?.imports).toContainEqual({ from: './api', typeOnly: false });
  });

  it('views reach the backend only through the controller, and never change the store themselves', () => {
    const views = all.filter((s) => s.file.startsWith('views/'));
    expect(views.length).toBeGreaterThan(5);
    for (const v of views) {
      expect(v.imports.filter((i) => isApi(i.from) || i.from.startsWith('@tauri-apps/')), v.file).toEqual([]);
      expect(v.text, v.file).not.toMatch(/\.api\b/);
      expect(v.text, v.file).not.toMatch(/\.dispatch\(/);
    }
  });

  it('only the controller calls the commands', () => {
    for (const s of all.filter((x) => x.file !== 'controller.ts' && x.file !== 'api.ts')) {
      expect(s.imports.filter((i) => isApi(i.from) && !i.typeOnly), s.file).toEqual([]);
      expect(s.text, s.file).not.toMatch(/\.api\./);
    }
  });

  it('platform detection is in platform.ts alone; only it and api.ts talk to Tauri', () => {
    for (const s of all.filter((x) => x.file !== 'api.ts' && x.file !== 'platform.ts')) {
      expect(s.imports.filter((i) => i.from.startsWith('@tauri-apps/')), s.file).toEqual([]);
      expect(s.text, s.file).not.toMatch(/\bmatchMedia\(|\.hasFocus\(|\.visibilityState\b|\.mediaDevices\b/);
    }
  });

  it('model/ is pure: it imports only its own modules and types', () => {
    const model = all.filter((s) => s.file.startsWith('model/'));
    expect(model.length).toBeGreaterThan(5);
    for (const m of model) {
      for (const i of m.imports) {
        if (i.from === '../types') expect(i.typeOnly || m.file === 'model/limits.ts', `${m.file}: ${i.from}`).toBe(true);
        else expect(i.from, m.file).toMatch(/^\.\/[\w-]+$/);
      }
    }
  });

  it('types.ts (generated from Rust) is imported for its types, and its limits only by model/limits.ts', () => {
    for (const s of all) {
      for (const i of s.imports) if (/(^|\/)types$/.test(i.from)) expect(i.typeOnly || s.file === 'model/limits.ts', s.file).toBe(true);
    }
  });
});
