import { describe, expect, it } from 'vitest';
import { contrast, parseColour } from './contrast';

describe('contrast', () => {
  it('reads the colour forms', () => {
    expect(parseColour('#fff')).toEqual([255, 255, 255]);
    expect(parseColour('#1D5BC4')).toEqual([29, 91, 196]);
    expect(parseColour('rgb(1, 2, 3)')).toEqual([1, 2, 3]);
    expect(parseColour('rgba(1, 2, 3, 0.5)')).toEqual([1, 2, 3]);
    expect(parseColour('rgb(1 2 3)')).toEqual([1, 2, 3]);
    expect(parseColour('red')).toBeNull();
  });
  it('is WCAG 2’s ratio', () => {
    expect(contrast('#000', '#fff')).toBeCloseTo(21, 5);
    expect(contrast('#fff', '#fff')).toBeCloseTo(1, 5);
    expect(contrast('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });
});
