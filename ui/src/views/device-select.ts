/**
 * A labelled picker of cameras, microphones or speakers (Settings, and the call screen's
 * *Devices*): the system default first, then each device by name (numbered until the person
 * allowed access once, when names are not given). Device names come from the system: text only.
 */
import { chosenOption, deviceOptions, type DeviceInfo, type DeviceKind } from '../model/media-devices';
import { el, reconcile, setAttr, setText } from './dom';

export type DeviceSelect = {
  element: HTMLElement;
  select: HTMLSelectElement;
  /** Lists `devices` of its kind, `chosen` selected while it is there. */
  fill(devices: readonly DeviceInfo[], chosen: string): void;
};

export function createDeviceSelect(id: string, kind: DeviceKind, label: string, onChoose: (deviceId: string) => void): DeviceSelect {
  const select = el('select', { id });
  const element = el('div', { class: 'field device-field' }, el('label', { for: id }, label), select);
  select.addEventListener('change', () => onChoose(select.value));
  return {
    element,
    select,
    fill(devices, chosen) {
      const options = deviceOptions(devices, kind);
      reconcile(
        select,
        options,
        (o) => o.id === '' ? 'default' : `d-${o.id}`,
        (o) => el('option', { value: o.id }),
        (node, o) => {
          setText(node, o.label);
          setAttr(node, 'value', o.id);
        },
      );
      select.value = chosenOption(options, chosen);
    },
  };
}
