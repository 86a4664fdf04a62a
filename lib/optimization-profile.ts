/**
 * OptimizationProfile: the range of shapes (min, opt, max) an engine accepts for each dynamic
 * input, as TensorRT's IOptimizationProfile.
 */
import { ShapeError } from './errors.js';
import { expectDims, expectString, invalid } from './validate.js';

export interface ShapeRange {
  min: readonly number[];
  opt: readonly number[];
  max: readonly number[];
}

/** min/opt/max values of a shape-tensor input, one entry per element (values may be negative). */
export type ValueRange = ShapeRange;

export class OptimizationProfile {
  readonly #inputs = new Map<string, ShapeRange>();
  readonly #values = new Map<string, ValueRange>();

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

  /**
   * Sets the range of a shape-tensor input's values (see TensorInfo.isShapeTensor), as
   * TensorRT's IOptimizationProfile.setShapeValuesV2: `min`, `opt` and `max` hold one value per
   * element of the input (one for a rank-0 input), in row-major order. The engine is built for these values, and execute() refuses a value
   * outside [min, max] with ShapeError. The input's dimensions are fixed, so no setDimensions
   * is needed for it.
   * @throws ShapeError unless min <= opt <= max elementwise with equal lengths;
   *   InvalidArgumentError unless every value is a safe integer
   */
  setShapeValues(input: string, range: ValueRange): this {
    expectString(input, 'input name');
    const min = expectValues(range?.min, `min values of '${input}'`);
    const opt = expectValues(range?.opt, `opt values of '${input}'`);
    const max = expectValues(range?.max, `max values of '${input}'`);
    if (min.length !== opt.length || opt.length !== max.length || min.length === 0) {
      throw new ShapeError(`min, opt and max values of '${input}' must have the same number of entries, at least one (got ${min.length}, ${opt.length}, ${max.length})`);
    }
    for (let i = 0; i < min.length; i++) {
      if (!(min[i]! <= opt[i]! && opt[i]! <= max[i]!)) {
        throw new ShapeError(`shape values of '${input}' need min <= opt <= max in every entry; entry ${i} has ${min[i]}, ${opt[i]}, ${max[i]}`);
      }
    }
    this.#values.set(input, { min, opt, max });
    return this;
  }

  /** The value range set for `input` with setShapeValues, if any. */
  getShapeValues(input: string): ValueRange | undefined {
    return this.#values.get(input);
  }

  /** Inputs with a range of dimensions or of values, in the order they were first set. */
  get inputs(): string[] {
    return [...new Set([...this.#inputs.keys(), ...this.#values.keys()])];
  }
}

function expectValues(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) invalid('an array of safe integers', what, value);
  return [...(value as number[])];
}
