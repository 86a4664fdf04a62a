// Tensor construction and float16/bfloat16 conversions, against bit patterns from the
// IEEE 754 binary16 definition (sign | 5-bit exponent, bias 15 | 10-bit mantissa).
import { describe, expect, it } from 'vitest';

import { DataTypeError, InvalidArgumentError, OutOfRangeError, float16ToFloat32, float32ToBfloat16, bfloat16ToFloat32, float32ToFloat16, fromFloat16Bits, ShapeError, Tensor, toFloat16Bits } from '../lib/index.js';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [65520, 0x7c00], // rounds up to infinity
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway to zero rounds to even (zero)
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and next: ties to even
    [1 + 3 * 2 ** -11, 0x3c02], // halfway, odd below: rounds up
    [Infinity, 0x7c00],
    [-0, 0x8000],
  ])('%d -> 0x%s', (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it('round-trips every finite float16', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue; // Inf/NaN
      expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
    }
  });

  it('keeps NaN a NaN', () => {
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });

  it('converts arrays both ways', () => {
    expect(Array.from(float16ToFloat32(float32ToFloat16([1, 0.5, -3])))).toEqual([1, 0.5, -3]);
  });
});

describe('bfloat16', () => {
  it('keeps the top 16 bits of float32, rounding to nearest even', () => {
    expect(Array.from(float32ToBfloat16([1, -2, 3]))).toEqual([0x3f80, 0xc000, 0x4040]);
    expect(Array.from(bfloat16ToFloat32([0x3f80, 0x4040]))).toEqual([1, 3]);
  });
});

describe('Tensor', () => {
  it('takes typed arrays or plain arrays, and defaults dims to 1-D', () => {
    const t = new Tensor('int64', [1n, 2n]);
    expect(t.dims).toEqual([2]);
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(new Tensor('float16', new Uint16Array(6), [2, 3]).size).toBe(6);
    expect(new Tensor('int4', new Uint8Array(2), [3]).dims).toEqual([3]); // 3 packed nibbles
  });

  it('refuses data of the wrong storage or length', () => {
    expect(() => new Tensor('float32', new Int32Array(4) as never, [4])).toThrow(DataTypeError);
    expect(() => new Tensor('float32', new Float32Array(5), [2, 2])).toThrow(ShapeError);
    expect(() => new Tensor('float32', new Float32Array(5), [2, 2])).toThrow(/needs 4 float32 storage elements but the data has 5/);
    expect(() => new Tensor('complex' as never, new Float32Array(1))).toThrow(/Expected one of/);
  });

  it('converts to float32', () => {
    expect(Array.from(new Tensor('float16', float32ToFloat16([1.5, -4])).toFloat32())).toEqual([1.5, -4]);
  });
});

// Expected bit patterns from the formats' definitions: float16 1.5 = 1.1b x 2^0 (exponent 15,
// mantissa 0x200), 2.5 = 1.01b x 2^1 (exponent 16, mantissa 0x100); bfloat16 keeps float32's
// top half (1.5 = 0x3fc00000).
describe('Tensor.fromNumbers', () => {
  it('converts values to 16-bit floats instead of storing them as bit patterns', () => {
    expect(Array.from(Tensor.fromNumbers('float16', [1.5, 2.5]).data)).toEqual([0x3e00, 0x4100]);
    expect(Array.from(Tensor.fromNumbers('bfloat16', [1.5, -2]).data)).toEqual([0x3fc0, 0xc000]);
    expect(Array.from(Tensor.fromNumbers('float16', Float32Array.of(65504, -Infinity)).data)).toEqual([0x7bff, 0xfc00]);
    expect(Number.isNaN(Tensor.fromNumbers('float16', [NaN]).toFloat32()[0])).toBe(true);
  });

  it('takes integers in range, and safe integers into int64', () => {
    expect(Array.from(Tensor.fromNumbers('int8', [-128, 127, -0]).data)).toEqual([-128, 127, 0]);
    expect(Array.from(Tensor.fromNumbers('uint8', [0, 255]).data)).toEqual([0, 255]);
    expect(Array.from(Tensor.fromNumbers('int32', [-(2 ** 31), 2 ** 31 - 1]).data)).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(Array.from(Tensor.fromNumbers('int64', [1, 2, Number.MAX_SAFE_INTEGER], [3]).data)).toEqual([1n, 2n, 2n ** 53n - 1n]);
    expect(Array.from(Tensor.fromNumbers('bool', [0, 1, 1]).data)).toEqual([0, 1, 1]);
    expect(Tensor.fromNumbers('float32', [0.1]).data[0]).toBe(Math.fround(0.1));
  });

  it.each([
    ['int8', 300, /value 300 at index 0 is outside int8's range \[-128, 127\]/],
    ['int8', -129, /outside int8's range/],
    ['uint8', -1, /value -1 at index 0 is outside uint8's range \[0, 255\]/],
    ['int32', 2 ** 31, /outside int32's range/],
    ['int32', 1.5, /value 1.5 at index 0 is not an integer \(int32 holds integers/],
    ['uint8', NaN, /value NaN at index 0 is not an integer/],
    ['int64', 2 ** 53, /outside int64's range .*pass bigints/],
    ['bool', 2, /value 2 at index 0 is not a bool/],
    ['float16', 65520, /value 65520 at index 0 is outside float16's finite range \(largest 65504\) and would become Infinity/],
    ['bfloat16', 1e39, /outside bfloat16's finite range/],
    ['float32', 1e39, /outside float32's finite range/],
  ] as const)('refuses %s %d instead of wrapping it', (dtype, value, message) => {
    const attempt = (): unknown => Tensor.fromNumbers(dtype, [value]);
    expect(attempt).toThrow(OutOfRangeError);
    expect(attempt).toThrow(message);
    const error = (() => {
      try {
        attempt();
      } catch (e) {
        return e as OutOfRangeError;
      }
    })()!;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect([error.dtype, error.index]).toEqual([dtype, 0]);
    expect(Object.is(error.value, value)).toBe(true);
  });

  it('names the first bad value by index', () => {
    expect(() => Tensor.fromNumbers('int8', [1, 2, 3, 1000])).toThrow(/value 1000 at index 3/);
  });

  it('refuses types whose elements are encodings, and values that are not numbers', () => {
    expect(() => Tensor.fromNumbers('float8e4m3' as never, [1])).toThrow(DataTypeError);
    expect(() => Tensor.fromNumbers('int4' as never, [1])).toThrow(/encoded bytes in a Uint8Array/);
    expect(() => Tensor.fromNumbers('int32', ['1' as never])).toThrow(/Expected numbers .* the string "1" at index 0/);
    expect(() => Tensor.fromNumbers('int32', 5 as never)).toThrow(InvalidArgumentError);
  });

  it('checks the count against dims', () => {
    expect(() => Tensor.fromNumbers('float16', [1, 2, 3], [2, 2])).toThrow(ShapeError);
  });
});

describe('Tensor constructor with plain arrays', () => {
  it('checks each value as fromNumbers does', () => {
    expect(() => new Tensor('int8', [300])).toThrow(OutOfRangeError);
    expect(() => new Tensor('uint8', [-1])).toThrow(/outside uint8's range/);
    expect(() => new Tensor('int32', [NaN])).toThrow(/not an integer/);
    expect(Array.from(new Tensor('bool', [true, false]).data)).toEqual([1, 0]);
  });

  it('takes int64 as bigints in range only', () => {
    expect(Array.from(new Tensor('int64', [-(2n ** 63n), 2n ** 63n - 1n]).data)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(() => new Tensor('int64', [2n ** 63n])).toThrow(OutOfRangeError);
    expect(() => new Tensor('int64', [1, 2, 3] as never)).toThrow(/Expected bigints .* number 1 at index 0; to convert numbers use Tensor.fromNumbers\('int64', values\)/);
  });

  it('refuses plain arrays for 16-bit floats and other encodings, saying what to pass', () => {
    expect(() => new Tensor('float16', [1.5, 2.5] as never)).toThrow(DataTypeError);
    expect(() => new Tensor('float16', [1.5, 2.5] as never)).toThrow(/raw bit patterns in a Uint16Array, or values through Tensor.fromNumbers\('float16', values\)/);
    expect(() => new Tensor('float8e4m3', [1] as never)).toThrow(/encoded bytes in a Uint8Array/);
  });
});
