/**
 * The camera, microphone and speaker chosen for calls (in Settings, or mid-call), remembered on
 * this device. Kept in the page's localStorage, not in the core's settings: device ids belong to
 * this webview's profile and mean nothing to another device. Empty: the system default.
 */

export type DeviceChoice = { camera: string; microphone: string; speaker: string };

type KeyValue = Pick<Storage, 'getItem' | 'setItem'>;

const KEY = 'parley.call-devices';
const NONE: DeviceChoice = { camera: '', microphone: '', speaker: '' };

function defaultStorage(): KeyValue | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    // Storage can be switched off; choices then last as long as the window.
    return null;
  }
}

function read(storage: KeyValue | null): DeviceChoice {
  try {
    const raw: unknown = JSON.parse(storage?.getItem(KEY) ?? 'null');
    if (typeof raw !== 'object' || raw === null) return { ...NONE };
    const r = raw as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    return { camera: str(r.camera), microphone: str(r.microphone), speaker: str(r.speaker) };
  } catch {
    return { ...NONE };
  }
}

export class DevicePrefs {
  private choice: DeviceChoice;
  private readonly listeners = new Set<(choice: DeviceChoice) => void>();

  constructor(private readonly storage: KeyValue | null = defaultStorage()) {
    this.choice = read(storage);
  }

  get(): DeviceChoice {
    return { ...this.choice };
  }

  /** Remembers a device (empty: the system default) and tells the pickers that show it. */
  set(kind: keyof DeviceChoice, id: string): void {
    if (this.choice[kind] === id) return;
    this.choice = { ...this.choice, [kind]: id };
    try {
      this.storage?.setItem(KEY, JSON.stringify(this.choice));
    } catch {
      /* full or refused: remembered for this window only */
    }
    for (const listener of [...this.listeners]) listener(this.get());
  }

  subscribe(listener: (choice: DeviceChoice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
