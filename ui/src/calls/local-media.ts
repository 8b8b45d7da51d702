/**
 * The camera and microphone of a call. Opened with the devices chosen (Settings): exactly those,
 * or the system's when one is gone (unplugged). When the camera can't be had the call goes on
 * with sound only and the person is told why; when not even the microphone can, the call can't
 * go on, and the reason says what to do about it.
 */
import { cameraFallbackText, mediaProblem, microphoneFailureText, switchFailureText } from '../model/media-devices';

export type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

/** What a call sends: its stream and tracks (replaced when a device is switched), and what to tell the person. */
export type LocalMedia = {
  stream: MediaStream;
  audio: MediaStreamTrack;
  /** Null: sound only (an audio call, or no camera to be had). */
  video: MediaStreamTrack | null;
  notice: string | null;
};

/** The media could not be opened; `message` is the reason, in words a person can act on. */
export class MediaFailure extends Error {}

function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : '';
}

/**
 * The device chosen, exactly (a preferred one could lose to another that fits the size asked
 * for better); `''`: the system's.
 */
export function microphoneConstraints(deviceId: string): MediaTrackConstraints | boolean {
  return deviceId === '' ? true : { deviceId: { exact: deviceId } };
}

/** The size a call's camera is asked for. */
export type CameraSize = { width: number; height: number };
const HD: CameraSize = { width: 1280, height: 720 };

export function cameraConstraints(deviceId: string, size: CameraSize = HD): MediaTrackConstraints {
  return { ...(deviceId === '' ? {} : { deviceId: { exact: deviceId } }), width: { ideal: size.width }, height: { ideal: size.height } };
}

type Choice = { camera: string; microphone: string };

/** `getUserMedia` with the devices chosen; when one of them is gone, with the system's instead. */
async function withChoice(getUserMedia: GetUserMedia, constraints: (choice: Choice) => MediaStreamConstraints, choice: Choice): Promise<MediaStream> {
  try {
    return await getUserMedia(constraints(choice));
  } catch (e) {
    if ((choice.camera === '' && choice.microphone === '') || mediaProblem(errorName(e)) !== 'missing') throw e;
    return getUserMedia(constraints({ camera: '', microphone: '' }));
  }
}

export function stopMedia(stream: MediaStream | null | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * Sound, and for a video call picture, from the devices chosen (`''`: the system's); the camera
 * at `size` where it can (720p unless said).
 */
export async function openLocalMedia(getUserMedia: GetUserMedia, video: boolean, choice: Choice, size?: CameraSize): Promise<LocalMedia> {
  let notice: string | null = null;
  if (video) {
    try {
      const stream = await withChoice(getUserMedia, (c) => ({ audio: microphoneConstraints(c.microphone), video: cameraConstraints(c.camera, size) }), choice);
      const camera = stream.getVideoTracks()[0] ?? null;
      return withAudio(stream, camera, camera === null ? cameraFallbackText('missing') : null);
    } catch (e) {
      if (e instanceof MediaFailure) throw e;
      // Either device may have failed: sound alone says which.
      notice = cameraFallbackText(mediaProblem(errorName(e)));
    }
  }
  let stream: MediaStream;
  try {
    stream = await withChoice(getUserMedia, (c) => ({ audio: microphoneConstraints(c.microphone) }), { camera: '', microphone: choice.microphone });
  } catch (e) {
    throw new MediaFailure(microphoneFailureText(mediaProblem(errorName(e))));
  }
  return withAudio(stream, null, notice);
}

function withAudio(stream: MediaStream, video: MediaStreamTrack | null, notice: string | null): LocalMedia {
  const audio = stream.getAudioTracks()[0];
  if (audio === undefined) {
    stopMedia(stream);
    throw new MediaFailure(microphoneFailureText('missing'));
  }
  return { stream, audio, video, notice };
}

/** One device opened on its own (switched mid-call); rejects with a `MediaFailure` saying why. */
export async function openTrack(getUserMedia: GetUserMedia, kind: 'audio' | 'video', deviceId: string, size?: CameraSize): Promise<MediaStreamTrack> {
  const constraints: MediaStreamConstraints = kind === 'audio' ? { audio: microphoneConstraints(deviceId) } : { video: cameraConstraints(deviceId, size) };
  let stream: MediaStream;
  try {
    stream = await getUserMedia(constraints);
  } catch (e) {
    throw new MediaFailure(switchFailureText(kind, mediaProblem(errorName(e))));
  }
  const track = stream.getTracks().find((t) => t.kind === kind);
  for (const other of stream.getTracks()) if (other !== track) other.stop();
  if (track === undefined) throw new MediaFailure(switchFailureText(kind, 'missing'));
  return track;
}
