import { describe, expect, it } from 'vitest';
import { cameraFallbackText, chosenOption, deviceOptions, levelOf, mediaProblem, microphoneFailureText, switchFailureText } from './media-devices';

const devices = [
  { kind: 'audioinput', deviceId: 'default', label: 'Default - Built-in Microphone' },
  { kind: 'audioinput', deviceId: 'mic-1', label: 'Built-in Microphone' },
  { kind: 'audioinput', deviceId: 'mic-2', label: 'USB Headset' },
  { kind: 'audioinput', deviceId: 'mic-2', label: 'USB Headset' },
  { kind: 'videoinput', deviceId: 'cam-1', label: '' },
  { kind: 'videoinput', deviceId: 'cam-2', label: '' },
  { kind: 'audiooutput', deviceId: 'communications', label: 'Communications' },
  { kind: 'audiooutput', deviceId: 'spk-1', label: 'Speakers' },
  { kind: 'videoinput', deviceId: '', label: '' },
];

describe('deviceOptions', () => {
  it('lists each device of a kind once after the system default; aliases are left out', () => {
    expect(deviceOptions(devices, 'audioinput')).toEqual([
      { id: '', label: 'System default' },
      { id: 'mic-1', label: 'Built-in Microphone' },
      { id: 'mic-2', label: 'USB Headset' },
    ]);
    expect(deviceOptions(devices, 'audiooutput')).toEqual([{ id: '', label: 'System default' }, { id: 'spk-1', label: 'Speakers' }]);
  });
  it('numbers devices whose names are not given yet (before access was allowed)', () => {
    expect(deviceOptions(devices, 'videoinput').map((o) => o.label)).toEqual(['System default', 'Camera 1', 'Camera 2']);
  });
  it('keeps a remembered device while it is there', () => {
    const options = deviceOptions(devices, 'videoinput');
    expect(chosenOption(options, 'cam-2')).toBe('cam-2');
    expect(chosenOption(options, 'unplugged')).toBe('');
  });
});

describe('media failures in words', () => {
  it.each([
    ['NotAllowedError', 'denied'],
    ['SecurityError', 'denied'],
    ['NotFoundError', 'missing'],
    ['OverconstrainedError', 'missing'],
    ['NotReadableError', 'busy'],
    ['TypeError', 'other'],
  ])('%s is %s', (name, problem) => expect(mediaProblem(name)).toBe(problem));

  it('says why the camera is missing and that the call goes on with sound', () => {
    expect(cameraFallbackText('denied')).toBe('Your camera isn’t available (Parley was not allowed to use it), so the others only hear you.');
  });
  it('gives the reason a call ends with when there is no microphone', () => {
    expect(microphoneFailureText('missing')).toBe('no microphone was found on this device (connect one and call again)');
    expect(microphoneFailureText('denied')).toMatch(/^permission to use the microphone was denied/);
  });
  it('says a device chosen mid-call did not work', () => {
    expect(switchFailureText('video', 'busy')).toBe('That camera couldn’t be used (another program is using it): the call goes on with the one before.');
  });
});

describe('levelOf', () => {
  it('is 0 for silence, about half for speech, full for a loud signal', () => {
    expect(levelOf([])).toBe(0);
    expect(levelOf(new Float32Array(128))).toBe(0);
    expect(levelOf(new Float32Array(128).fill(0.03))).toBeCloseTo(0.49, 1);
    expect(levelOf(new Float32Array(128).fill(1))).toBe(1);
    expect(levelOf(new Float32Array(128).fill(1e-6))).toBe(0);
  });
});
