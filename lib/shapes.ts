/**
 * Shape specs as trtexec writes them: "x:1x3x224x224,y:4x16". Used by the CLI and by
 * buildEngine's `shapes` option when given as a string.
 */
import { InvalidArgumentError } from './errors.js';

export type ShapeMap = Record<string, number[]>;

/**
 * Parses "name:AxBxC,name2:D" into { name: [A, B, C], name2: [D] }. A name may itself contain
 * ':' (the last one separates the dims); a scalar is written "name:".
 * @throws InvalidArgumentError naming the bad entry
 */
export function parseShapeSpec(spec: string, what = 'shapes'): ShapeMap {
  const out: ShapeMap = {};
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) throw new InvalidArgumentError(`Expected name:AxBxC for an entry of ${what} but received '${entry}'`);
    const name = entry.slice(0, colon).replace(/^'(.*)'$/, '$1');
    const dimsText = entry.slice(colon + 1);
    const dims = dimsText === '' ? [] : dimsText.split('x').map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new InvalidArgumentError(`Expected dimensions like 1x3x224x224 for '${name}' in ${what} but received '${dimsText}'`);
    }
    out[name] = dims;
  }
  return out;
}

/** The inverse of parseShapeSpec. */
export function formatShapeSpec(shapes: ShapeMap): string {
  return Object.entries(shapes).map(([name, dims]) => `${name}:${dims.join('x')}`).join(',');
}

/**
 * Parses shape-tensor values written like shapes, "s:2x3,k:-1x4" -> { s: [2, 3], k: [-1, 4] }:
 * the CLI's --values and --min/--opt/--max-values. Values may be negative (Reshape's -1).
 * @throws InvalidArgumentError naming the bad entry
 */
export function parseValueSpec(spec: string, what = 'values'): ShapeMap {
  const out: ShapeMap = {};
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) throw new InvalidArgumentError(`Expected name:AxB for an entry of ${what} but received '${entry}'`);
    const name = entry.slice(0, colon).replace(/^'(.*)'$/, '$1');
    const text = entry.slice(colon + 1);
    const values = text.split('x').map(Number);
    if (text === '' || values.some((v) => !Number.isSafeInteger(v))) {
      throw new InvalidArgumentError(`Expected integer values like 2x3 or -1x4 for '${name}' in ${what} but received '${text}'`);
    }
    out[name] = values;
  }
  return out;
}
