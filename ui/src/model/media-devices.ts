/**
 * Cameras, microphones and speakers as the pickers show them, and what a failure to open one
 * means for a person. Pure: the device lists come in as plain objects (`enumerateDevices`), the
 * failures as the `DOMException` names `getUserMedia` rejects with.
 */

export type DeviceKind = 'videoinput' | 'audioinput' | 'audiooutput';
export type DeviceInfo = { kind: string; deviceId: string; label: string };
export type DeviceOption = { id: string; label: string };

const NOUN: Record<DeviceKind, string> = { videoinput: 'Camera', audioinput: 'Microphone', audiooutput: 'Speaker' };

/**
 * The devices of one kind, each once, in the system's order. Before the person allowed access
 * the labels are empty: "Camera 1", "Camera 2"… then. The system default comes first as "System
 * default" (its id is empty: the pickers' value for "whatever the system uses").
 */
export function deviceOptions(devices: readonly DeviceInfo[], kind: DeviceKind): DeviceOption[] {
  const seen = new Set<string>();
  const options: DeviceOption[] = [{ id: '', label: 'System default' }];
  let n = 0;
  for (const d of devices) {
    // "default" and "communications" are aliases of a device listed again under its own id.
    if (d.kind !== kind || d.deviceId === '' || d.deviceId === 'default' || d.deviceId === 'communications' || seen.has(d.deviceId)) continue;
    seen.add(d.deviceId);
    n++;
    options.push({ id: d.deviceId, label: d.label.trim() !== '' ? d.label : `${NOUN[kind]} ${n}` });
  }
  return options;
}

/** The option to show as chosen: the remembered device while it is there, else the system default. */
export function chosenOption(options: readonly DeviceOption[], remembered: string): string {
  return options.some((o) => o.id === remembered) ? remembered : '';
}

/** Why a camera or microphone did not open. */
export type MediaProblem = 'denied' | 'missing' | 'busy' | 'other';

export function mediaProblem(errorName: string): MediaProblem {
  switch (errorName) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    default:
      return 'other';
  }
}

/** The camera did not open: the call goes on with sound only, and the person is told why. */
export function cameraFallbackText(problem: MediaProblem): string {
  const why = {
    denied: 'Parley was not allowed to use it',
    missing: 'none was found',
    busy: 'another program is using it',
    other: 'it could not be started',
  }[problem];
  return `Your camera isn\u2019t available (${why}), so the others only hear you.`;
}

/** The microphone did not open: the reason the call ends with (`call_media_state`). */
export function microphoneFailureText(problem: MediaProblem): string {
  return {
    denied: 'permission to use the microphone was denied (allow it in the system\u2019s privacy settings)',
    missing: 'no microphone was found on this device (connect one and call again)',
    busy: 'the microphone is in use by another program (close it and call again)',
    other: 'the microphone could not be started',
  }[problem];
}

/** A device chosen mid-call did not open: said beside the call, which goes on with the old one. */
export function switchFailureText(kind: 'audio' | 'video', problem: MediaProblem): string {
  const noun = kind === 'audio' ? 'microphone' : 'camera';
  const why = { denied: 'access was denied', missing: 'it is not connected', busy: 'another program is using it', other: 'it could not be started' }[problem];
  return `That ${noun} couldn\u2019t be used (${why}): the call goes on with the one before.`;
}

/**
 * A microphone's level for a meter, 0 to 1, from its samples (−1…1): their loudness (RMS) on a
 * 60 dB scale, so that speech at a normal distance fills about half of it.
 */
export function levelOf(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    sum += v * v;
  }
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}
