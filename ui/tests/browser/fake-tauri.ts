/**
 * Makes this page look like Parley's window to the UI, with `handler` answering every command:
 * the browser tests' backends (mock-backend.ts, bridge-backend.ts) go through here. Events the
 * backend passes to `emit` (from @tauri-apps/api/event) reach the UI's listeners.
 */
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';

/** A command's name, arguments, and the headers its invoke carried (raw-body commands have some). */
export type FakeCommand = (cmd: string, args: unknown, headers: Headers) => unknown;

export function fakeTauri(handler: FakeCommand): void {
  // mockIPC drops the invoke's options: its headers are noted on the way in.
  let headers = new Headers();
  mockWindows('main');
  mockIPC((cmd, args) => handler(cmd, args, headers), { shouldMockEvents: true });
  // isTauri() reads globalThis.isTauri, which the real runtime sets and mockIPC does not.
  (window as unknown as { isTauri: boolean }).isTauri = true;
  type Invoke = (cmd: string, args?: unknown, options?: { headers?: HeadersInit }) => Promise<unknown>;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: Invoke } }).__TAURI_INTERNALS__;
  const inner = internals.invoke;
  internals.invoke = (cmd, args, options) => {
    headers = new Headers(options?.headers ?? {});
    return inner(cmd, args, options);
  };
}
