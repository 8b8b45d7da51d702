import { describe, expect, it } from 'vitest';
import { DevicePrefs } from './device-prefs';

function memory(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), data };
}

describe('DevicePrefs', () => {
  it('remembers each choice on this device and tells who listens', () => {
    const store = memory();
    const prefs = new DevicePrefs(store);
    expect(prefs.get()).toEqual({ camera: '', microphone: '', speaker: '' });
    const seen: string[] = [];
    const stop = prefs.subscribe((c) => seen.push(c.camera));
    prefs.set('camera', 'cam-2');
    prefs.set('camera', 'cam-2');
    stop();
    prefs.set('speaker', 'spk-1');
    expect(seen).toEqual(['cam-2']);
    expect(new DevicePrefs(store).get()).toEqual({ camera: 'cam-2', microphone: '', speaker: 'spk-1' });
  });

  it('reads what it can of a damaged entry, and works without storage', () => {
    expect(new DevicePrefs(memory({ 'parley.call-devices': '{"camera": 5, "microphone": "m"}' })).get()).toEqual({ camera: '', microphone: 'm', speaker: '' });
    expect(new DevicePrefs(memory({ 'parley.call-devices': 'not json' })).get().camera).toBe('');
    const prefs = new DevicePrefs(null);
    prefs.set('microphone', 'mic-1');
    expect(prefs.get().microphone).toBe('mic-1');
  });
});
