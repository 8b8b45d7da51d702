/**
 * The page's side of `parley-bridge` (tests/src/bin/parley-bridge.rs): Parley's UI in a browser
 * with a real core behind it. Every `invoke` goes over the WebSocket named by `?bridge=ws://…`
 * to the app's real commands, and every event the app emits reaches the UI's listeners, as in
 * the app's window. The frames are described in parley-bridge.rs.
 */
import { emit } from '@tauri-apps/api/event';
import { fakeTauri } from './fake-tauri';

type Pending = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

const address = new URLSearchParams(location.search).get('bridge');
if (address === null) throw new Error('bridge-backend needs ?bridge=ws://… (the address parley-bridge prints)');

const socket = new WebSocket(address);
socket.binaryType = 'arraybuffer';
const pending = new Map<number, Pending>();
let nextId = 1;

/** A raw frame's parts: a 4-byte big-endian header length, the JSON header, the bytes. */
function unframe(data: ArrayBuffer): { header: { id: number }; body: ArrayBuffer } {
  const length = new DataView(data).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, length))) as { id: number };
  return { header, body: data.slice(4 + length) };
}

function frame(header: object, body: Uint8Array): ArrayBuffer {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + head.length + body.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(body, 4 + head.length);
  return out.buffer;
}

function settle(id: number, ok: boolean, value: unknown): void {
  const waiting = pending.get(id);
  pending.delete(id);
  if (waiting !== undefined) (ok ? waiting.resolve : waiting.reject)(value);
}

socket.addEventListener('message', (e: MessageEvent<string | ArrayBuffer>) => {
  if (typeof e.data !== 'string') {
    const { header, body } = unframe(e.data);
    settle(header.id, true, body);
    return;
  }
  const message = JSON.parse(e.data) as { id?: number; ok?: unknown; err?: unknown; event?: string; payload?: unknown };
  if (message.event !== undefined) void emit(message.event, message.payload);
  else if (message.id !== undefined) settle(message.id, !('err' in message), 'err' in message ? message.err : message.ok);
});
socket.addEventListener('close', () => {
  for (const id of [...pending.keys()]) settle(id, false, { code: 'bridge_closed', message: 'parley-bridge closed the connection.' });
});
await new Promise<void>((resolve, reject) => {
  socket.addEventListener('open', () => resolve(), { once: true });
  socket.addEventListener('error', () => reject(new Error(`cannot reach parley-bridge at ${address}`)), { once: true });
});

fakeTauri(
  (cmd, args, headers) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      if (args instanceof Uint8Array || args instanceof ArrayBuffer) {
        const body = args instanceof Uint8Array ? args : new Uint8Array(args);
        socket.send(frame({ id, cmd, headers: Object.fromEntries(headers.entries()) }, body));
      } else {
        socket.send(JSON.stringify({ id, cmd, args: args ?? {} }));
      }
    }),
);
