// Compile-time checks of the Tensor types, against the built declarations (dist/*.d.ts) as a
// user of the package sees them. test/types.test.ts runs `tsc --noEmit` on this file: each
// `@ts-expect-error` line must be an error, everything else must compile.
import { type AnyTensor, type DataType, type ExecutionContext, type InferenceSession, Tensor } from 'tensorrt-node';

// Each dtype's data is its storage TypedArray.
export const float32: Float32Array = new Tensor('float32', new Float32Array(4)).data;
export const int64: BigInt64Array = new Tensor('int64', [1n, 2n, 3n]).data;
export const float16: Uint16Array = Tensor.fromNumbers('float16', [1.5, 2.5]).data;
export const bfloat16: Uint16Array = new Tensor('bfloat16', new Uint16Array(2)).data;
export const int8: Int8Array = new Tensor('int8', [-1, 2]).data;
export const bool: Uint8Array = new Tensor('bool', [true, false]).data;
export const int64FromNumbers: BigInt64Array = Tensor.fromNumbers('int64', [1, 2, 3]).data;
export const fp8: Uint8Array = new Tensor('float8e4m3', new Uint8Array(2)).data;

// @ts-expect-error int64 data is bigints (or Tensor.fromNumbers('int64', ...) for numbers)
new Tensor('int64', [1, 2, 3]);
// @ts-expect-error float16 takes bit patterns in a Uint16Array; values go through fromNumbers
new Tensor('float16', [1.5, 2.5]);
// @ts-expect-error 8-bit float elements are encodings: a Uint8Array only
new Tensor('float8e4m3', [1]);
// @ts-expect-error a Float32Array is not int32 storage
new Tensor('int32', new Float32Array(2));
// @ts-expect-error bool takes booleans (or Tensor.fromNumbers('bool', [0, 1]))
new Tensor('bool', [0, 1]);
// @ts-expect-error fromNumbers does not encode 8-bit floats
Tensor.fromNumbers('float8e4m3', [1]);
// @ts-expect-error fromNumbers takes numbers; bigints go to the constructor
Tensor.fromNumbers('int64', [1n]);
// @ts-expect-error a float32 tensor's data is no BigInt64Array
export const mismatch: BigInt64Array = new Tensor('float32', [1]).data;

// Code generic in the dtype still compiles, checked at run time as before.
export const anyType = (dtype: DataType, values: number[]): Tensor => new Tensor(dtype, values);

// Outputs narrow on dtype.
export async function outputs(session: InferenceSession, context: ExecutionContext): Promise<void> {
  const { y } = await session.run({ x: new Tensor('float32', [1, 2]) });
  if (y === undefined) return;
  if (y.dtype === 'float32') {
    const data: Float32Array = y.data;
    void data;
  } else if (y.dtype === 'int64') {
    const data: BigInt64Array = y.data;
    void data;
  } else if (y.dtype === 'float16' || y.dtype === 'bfloat16') {
    const data: Uint16Array = y.data;
    void data;
  }
  // @ts-expect-error without a check, data may be any storage
  const unchecked: Float32Array = y.data;
  void unchecked;
  const out = await context.execute({ x: Tensor.fromNumbers('int32', [1]) });
  const z = out.z!;
  if (z.dtype === 'int32') {
    const data: Int32Array = z.data;
    void data;
  }
}

// AnyTensor and Tensor convert both ways where they should.
export const widened: Record<string, Tensor> = {} as Record<string, AnyTensor>;
export const member: AnyTensor = new Tensor('int8', [1]);
