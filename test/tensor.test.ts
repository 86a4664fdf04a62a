// Tensor construction and float16/bfloat16 conversions, against bit patterns from the
// IEEE 754 binary16 definition (sign | 5-bit exponent, bias 15 | 10-bit mantissa).
import { describe, expect, it } from 'vitest';

import { DataTypeError, float16ToFloat32, float32ToBfloat16, bfloat16ToFloat32, float32ToFloat16, fromFloat16Bits, ShapeError, Tensor, toFloat16Bits } from '../lib/index.js';

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
