// The small ONNX model most examples run: y = softmax(relu(x·W1 + b1)·W2 + b2), with a dynamic
// batch dimension (x: [batch, 8] -> y: [batch, 4]). Built in code, so no download is needed.
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

/** The model's ONNX bytes. Fixed pseudo-random weights, so every run prints the same numbers. */
export function mlpModel(): Uint8Array {
  let seed = 12345;
  const random = (n: number): number[] =>
    Array.from({ length: n }, () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 1073741824 - 1;
    });
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
    initializers: [
      makeTensor('W1', 'float32', [8, 16], random(128)),
      makeTensor('b1', 'float32', [16], random(16)),
      makeTensor('W2', 'float32', [16, 4], random(64)),
      makeTensor('b2', 'float32', [4], random(4)),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h0'] },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'W2'], outputs: ['h3'] },
      { op: 'Add', inputs: ['h3', 'b2'], outputs: ['h4'] },
      { op: 'Softmax', inputs: ['h4'], outputs: ['y'], attributes: { axis: -1 } },
    ],
  });
}
