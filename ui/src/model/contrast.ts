/**
 * WCAG 2 contrast between two colours (`#rrggbb`, `#rgb` or `rgb(r, g, b)`), for checking that
 * text stays readable in both themes (WCAG AA: 4.5:1 for text). Pure.
 */

/** The colour's red, green and blue (0–255), or null when it is not one of the forms above. */
export function parseColour(text: string): [number, number, number] | null {
  const t = text.trim().toLowerCase();
  const hex = t.match(/^#([0-9a-f]{3}|[0-9a-f]{6})$/);
  if (hex !== null) {
    const h = hex[1] as string;
    const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
    return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as [number, number, number];
  }
  const rgb = t.match(/^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)\s*(?:[,/]\s*([\d.]+%?)\s*)?\)$/);
  if (rgb !== null) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return null;
}

/** Relative luminance (WCAG 2). */
export function luminance([r, g, b]: [number, number, number]): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The contrast ratio of two colours, from 1 (none) to 21 (black on white). */
export function contrast(a: string, b: string): number {
  const x = parseColour(a);
  const y = parseColour(b);
  if (x === null || y === null) throw new Error(`not a colour: ${x === null ? a : b}`);
  const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
