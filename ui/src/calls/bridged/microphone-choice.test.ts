import { describe, expect, it } from 'vitest';
import type { CallMicrophone } from '../../types';
import { MicrophoneChoice } from './microphone-choice';

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const mic = (id: string, enabled = true) => ({ id, label: `label ${id}`, enabled }) as MediaStreamTrack;

/** An app whose answers the test gives, one ask at a time. */
function setup() {
  const page: string[] = [];
  const asks: { label: string; on: boolean; answer(captured: boolean | null): Promise<void> }[] = [];
  const choice = new MicrophoneChoice({ setTrack: (t) => page.push(t?.id ?? 'null') }, (label, on) => {
    return new Promise<CallMicrophone | null>((resolve) => {
      asks.push({
        label,
        on,
        answer: async (captured) => {
          resolve(captured === null ? null : { captured, echo_cancelled: false, detail: '' });
          await flush();
        },
      });
    });
  });
  return { choice, page, asks };
}

describe('MicrophoneChoice', () => {
  it('the page sends until the app says it captures, and not after', async () => {
    const { choice, page, asks } = setup();
    choice.setTrack(mic('a'));
    expect(page).toEqual(['a']);
    expect(asks.map((a) => [a.label, a.on])).toEqual([['label a', true]]);
    await asks[0]!.answer(true);
    expect(choice.capturedByApp).toBe(true);
    expect(page).toEqual(['a', 'null']);
  });

  it('only the latest ask counts: an answer overtaken by another device is ignored', async () => {
    const { choice, page, asks } = setup();
    choice.setTrack(mic('a'));
    choice.setTrack(mic('b'));
    await asks[0]!.answer(true);
    expect(choice.capturedByApp).toBe(false);
    await asks[1]!.answer(false);
    expect(page).toEqual(['a', 'b']);
  });

  it('another device the app can’t capture goes back to the page; so does a failed ask or a closed connection', async () => {
    const { choice, page, asks } = setup();
    choice.setTrack(mic('a'));
    await asks[0]!.answer(true);
    choice.setTrack(mic('b'));
    // Meanwhile the app's capture of the old one goes on.
    expect(page).toEqual(['a', 'null']);
    await asks[1]!.answer(false);
    expect(page).toEqual(['a', 'null', 'b']);
    choice.setTrack(mic('c'));
    await asks[2]!.answer(null);
    expect(choice.capturedByApp).toBe(false);
    expect(page).toEqual(['a', 'null', 'b', 'c']);
  });

  it('muted while the app was opening it: the app is asked again with the state as it is', async () => {
    const { choice, asks } = setup();
    const track = mic('a');
    choice.setTrack(track);
    track.enabled = false;
    await asks[0]!.answer(true);
    expect(asks.map((a) => a.on)).toEqual([true, false]);
    await asks[1]!.answer(true);
    expect(asks).toHaveLength(2);
  });

  it('the app’s capture stopping hands the track back to the page; after close nothing moves', async () => {
    const { choice, page, asks } = setup();
    choice.setTrack(mic('a'));
    await asks[0]!.answer(true);
    choice.stopped();
    expect(page).toEqual(['a', 'null', 'a']);
    expect(choice.capturedByApp).toBe(false);
    choice.close();
    choice.setTrack(mic('b'));
    expect(page).toEqual(['a', 'null', 'a']);
    expect(asks).toHaveLength(1);
  });
});
