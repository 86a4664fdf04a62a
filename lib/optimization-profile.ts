/**
 * OptimizationProfile: the range of shapes (min, opt, max) an engine accepts for each dynamic
 * input, as TensorRT's IOptimizationProfile.
 */
import { ShapeError } from './errors.js';
import { expectDims, expectString } from './validate.js';

export interface ShapeRange {
  min: readonly number[];
  opt: readonly number[];
  max: readonly number[];
}

export class OptimizationProfile {
  readonly #inputs = new Map<string, ShapeRange>();

  /**
   * Sets the range of one input.
   * @throws ShapeError unless min <= opt <= max elementwise with equal ranks
   */
  setDimensions(input: string, range: ShapeRange): this {
    expectString(input, 'input name');
    const min = expectDims(range?.min, `min shape of '${input}'`);
    const opt = expectDims(range?.opt, `opt shape of '${input}'`);
    const max = expectDims(range?.max, `max shape of '${input}'`);
    if (min.length !== opt.length || opt.length !== max.length) {
      throw new ShapeError(`min, opt and max shapes of '${input}' must have the same rank (got ${min.length}, ${opt.length}, ${max.length})`);
    }
    for (let i = 0; i < min.length; i++) {
      if (!(min[i]! <= opt[i]! && opt[i]! <= max[i]!)) {
        throw new ShapeError(`profile for '${input}' needs min <= opt <= max in every dimension; dimension ${i} has ${min[i]}, ${opt[i]}, ${max[i]}`);
      }
    }
    this.#inputs.set(input, { min, opt, max });
    return this;
  }

  /** The range set for `input`, if any. */
  getDimensions(input: string): ShapeRange | undefined {
    return this.#inputs.get(input);
  }

  /** Inputs with a range, in the order they were set. */
  get inputs(): string[] {
    return [...this.#inputs.keys()];
  }
}
