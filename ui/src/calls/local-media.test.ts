import { describe, expect, it } from 'vitest';
import { MediaFailure, openLocalMedia, openTrack, type GetUserMedia } from './local-media';

/** A track and a stream as far as local-media.ts looks at them. */
type FakeTrack = { kind: 'audio' | 'video'; label: string; stopped: boolean; stop(): void };
const track = (kind: 'audio' | 'video', label: string = kind): FakeTrack => ({
  kind,
  label,
  stopped: false,
  stop() {
    this.stopped = true;
  },
});
const stream = (tracks: FakeTrack[]) =>
  ({ getTracks: () => tracks, getAudioTracks: () => tracks.filter((t) => t.kind === 'audio'), getVideoTracks: () => tracks.filter((t) => t.kind === 'video') }) as unknown as MediaStream;
const refuse = (name: string) => Object.assign(new Error(name), { name });

/** A getUserMedia that answers per request (`answer`) and notes what was asked. */
function fakeMedia(answer: (c: MediaStreamConstraints) => FakeTrack[] | string) {
  const asked: MediaStreamConstraints[] = [];
  const getUserMedia: GetUserMedia = async (c) => {
    asked.push(c);
    const a = answer(c);
    if (typeof a === 'string') throw refuse(a);
    return stream(a);
  };
  return { getUserMedia, asked };
}

const none = { camera: '', microphone: '' };

describe('openLocalMedia', () => {
  it('opens camera and microphone for a video call, the microphone alone for an audio call', async () => {
    const m = fakeMedia((c) => [track('audio'), ...(c.video ? [track('video')] : [])]);
    const media = await openLocalMedia(m.getUserMedia, true, none);
    expect([media.audio.kind, media.video?.kind, media.notice]).toEqual(['audio', 'video', null]);
    const audio = await openLocalMedia(m.getUserMedia, false, none);
    expect(audio.video).toBeNull();
    expect(m.asked[1]).toEqual({ audio: true });
  });

  it('asks for exactly the devices chosen', async () => {
    const m = fakeMedia(() => [track('audio'), track('video')]);
    await openLocalMedia(m.getUserMedia, true, { camera: 'cam-2', microphone: 'mic-2' });
    expect(m.asked[0]).toEqual({ audio: { deviceId: { exact: 'mic-2' } }, video: { deviceId: { exact: 'cam-2' }, width: { ideal: 1280 }, height: { ideal: 720 } } });
  });

  it('asks the camera for another size where told (a bridged call sends 640×480 at most)', async () => {
    const m = fakeMedia(() => [track('audio'), track('video')]);
    await openLocalMedia(m.getUserMedia, true, { camera: '', microphone: '' }, { width: 640, height: 480 });
    expect(m.asked[0]).toEqual({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
    const v = fakeMedia(() => [track('video')]);
    await openTrack(v.getUserMedia, 'video', 'cam-2', { width: 640, height: 480 });
    expect(v.asked[0]).toEqual({ video: { deviceId: { exact: 'cam-2' }, width: { ideal: 640 }, height: { ideal: 480 } } });
  });

  it('takes the system’s devices when one chosen is gone', async () => {
    const m = fakeMedia((c) => (JSON.stringify(c).includes('exact') ? 'OverconstrainedError' : [track('audio'), track('video')]));
    const media = await openLocalMedia(m.getUserMedia, true, { camera: 'unplugged', microphone: '' });
    expect(media.video).not.toBeNull();
    expect(m.asked).toHaveLength(2);
  });

  it('goes on with sound only when the camera is refused, and says why', async () => {
    const m = fakeMedia((c) => (c.video ? 'NotAllowedError' : [track('audio')]));
    const media = await openLocalMedia(m.getUserMedia, true, none);
    expect(media.video).toBeNull();
    expect(media.notice).toBe('Your camera isn’t available (Parley was not allowed to use it), so the others only hear you.');
  });

  it('fails with a reason a person can act on when not even the microphone opens', async () => {
    const m = fakeMedia(() => 'NotFoundError');
    await expect(openLocalMedia(m.getUserMedia, true, none)).rejects.toEqual(new MediaFailure('no microphone was found on this device (connect one and call again)'));
    const denied = fakeMedia(() => 'NotAllowedError');
    await expect(openLocalMedia(denied.getUserMedia, false, none)).rejects.toThrow(/^permission to use the microphone was denied/);
  });

  it('a stream without sound is no good: its tracks are let go', async () => {
    const video = track('video');
    const m = fakeMedia(() => [video]);
    await expect(openLocalMedia(m.getUserMedia, false, none)).rejects.toBeInstanceOf(MediaFailure);
    expect(video.stopped).toBe(true);
  });
});

describe('openTrack', () => {
  it('opens one device exactly, or says why it could not', async () => {
    const m = fakeMedia(() => [track('video', 'cam-2')]);
    expect((await openTrack(m.getUserMedia, 'video', 'cam-2')).label).toBe('cam-2');
    expect(m.asked[0]).toEqual({ video: { deviceId: { exact: 'cam-2' }, width: { ideal: 1280 }, height: { ideal: 720 } } });
    const busy = fakeMedia(() => 'NotReadableError');
    await expect(openTrack(busy.getUserMedia, 'audio', 'mic-9')).rejects.toThrow('That microphone couldn’t be used (another program is using it): the call goes on with the one before.');
  });
});
