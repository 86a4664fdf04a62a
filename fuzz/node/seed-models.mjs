// The ONNX seeds of the pipeline and native ONNX targets, built in code with the repo's own
// model writer (fuzz/corpus/onnx/ holds their bytes, written by `node fuzz/node/main.mjs
// --write-seeds`). Each is tiny (fast cases) and touches a different family of readers and
// shape-inference rules, so mutations start from many corners of the sim: weights, attributes
// of every kind, Constant nodes, shape tensors, dynamic dims, float16 and int8 tensors.
import { writeNpy } from '../../dist/npy.js';
import { makeModel, makeTensor } from '../../dist/onnx/model-builder.js';
import { Tensor } from '../../dist/tensor.js';

const f32 = (name, dims, start = 0.1) =>
  makeTensor(name, 'float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => start * ((i % 7) - 3)));
const i64 = (name, values) => makeTensor(name, 'int64', [values.length], values.map(BigInt));

export const seedModels = {
  mlp: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }],
    initializers: [f32('w1', [4, 5]), f32('b1', [5]), f32('w2', [3, 5]), f32('b2', [3])],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['g'], attributes: { transB: 1, alpha: { floats: [0.5] } } },
      { op: 'Sigmoid', inputs: ['g'], outputs: ['y'] },
    ],
  }),
  conv: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 6, 6] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 3, 1, 1] }],
    initializers: [f32('w', [3, 2, 3, 3]), f32('b', [3])],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1] } },
      { op: 'MaxPool', inputs: ['c'], outputs: ['p'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'GlobalAveragePool', inputs: ['p'], outputs: ['y'] },
    ],
  }),
  shapes: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['B', 3, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 8, 3] }],
    initializers: [i64('idx', [0]), i64('tail', [4, 3]), i64('split', [4, 4])],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'idx'], outputs: ['b'], attributes: { axis: 0 } },
      { op: 'Concat', inputs: ['b', 'tail'], outputs: ['target'], attributes: { axis: 0 } },
      { op: 'Transpose', inputs: ['x'], outputs: ['t'], attributes: { perm: [0, 2, 1] } },
      { op: 'Reshape', inputs: ['t', 'target'], outputs: ['r'] },
      { op: 'Concat', inputs: ['r', 'r'], outputs: ['c'], attributes: { axis: 1 } },
      { op: 'Split', inputs: ['c', 'split'], outputs: ['y', 'unused'], attributes: { axis: 1 } },
    ],
  }),
  constants: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 5] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 6] }],
    initializers: [i64('starts', [1]), i64('ends', [4]), i64('axes', [1]), i64('pads', [0, 1, 0, 2])],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['k'], attributes: { value: f32('kv', [1, 3], 2) } },
      { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['s'] },
      { op: 'Mul', inputs: ['s', 'k'], outputs: ['m'] },
      { op: 'Pad', inputs: ['m', 'pads'], outputs: ['y'], attributes: { mode: 'constant' } },
    ],
  }),
  resize: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 2, 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 1, 1] }],
    initializers: [makeTensor('roi', 'float32', [0], []), makeTensor('scales', 'float32', [4], [1, 1, 2, 2])],
    nodes: [
      { op: 'Resize', inputs: ['x', 'roi', 'scales'], outputs: ['r'], attributes: { mode: 'linear' } },
      { op: 'Softmax', inputs: ['r'], outputs: ['s'], attributes: { axis: -1 } },
      { op: 'ReduceMean', inputs: ['s'], outputs: ['y'], attributes: { axes: [2, 3], keepdims: 1 } },
    ],
  }),
  quant: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4] }],
    outputs: [{ name: 'y', dtype: 'float16', shape: [2, 4] }],
    initializers: [makeTensor('scale', 'float32', [], [0.05]), makeTensor('zero', 'int8', [], [0])],
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'scale', 'zero'], outputs: ['q'] },
      { op: 'DequantizeLinear', inputs: ['q', 'scale', 'zero'], outputs: ['d'] },
      { op: 'Cast', inputs: ['d'], outputs: ['y'], attributes: { to: 10 } },
    ],
  }),
  broadcast: () => makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 1, 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2, 6] }],
    initializers: [f32('a', [2, 1]), i64('shape', [1, 2, 3]), i64('reps', [1, 1, 2]), i64('ax', [0])],
    nodes: [
      { op: 'Add', inputs: ['x', 'a'], outputs: ['s'] },
      { op: 'Expand', inputs: ['s', 'shape'], outputs: ['e'] },
      { op: 'Tile', inputs: ['e', 'reps'], outputs: ['t'] },
      { op: 'Unsqueeze', inputs: ['t', 'ax'], outputs: ['u'] },
      { op: 'Squeeze', inputs: ['u', 'ax'], outputs: ['y'] },
    ],
  }),
  // Control flow: a Loop whose body runs an inner Loop and reads outer-scope values two levels
  // out, then a Scan over the rows it stacked (bodies are prepared once per execution context).
  loops: () => {
    const v = (name, shape, dtype = 'float32') => ({ name, dtype, shape });
    const inner = {
      inputs: [v('j', [], 'int64'), v('cj', [], 'bool'), v('u', [3])],
      outputs: [v('cj_out', [], 'bool'), v('u_out', [3])],
      nodes: [
        { op: 'Identity', inputs: ['cj'], outputs: ['cj_out'] },
        { op: 'Mul', inputs: ['u', 'w'], outputs: ['uw'] },
        { op: 'Add', inputs: ['uw', 'x'], outputs: ['u_out'] },
      ],
    };
    const outer = {
      inputs: [v('i', [], 'int64'), v('c', [], 'bool'), v('h', [3])],
      outputs: [v('c_out', [], 'bool'), v('h_out', [3]), v('row', [3])],
      nodes: [
        { op: 'Identity', inputs: ['c'], outputs: ['c_out'] },
        { op: 'Loop', inputs: ['two', '', 'h'], outputs: ['h_in'], attributes: { body: { graph: inner } } },
        { op: 'Tanh', inputs: ['h_in'], outputs: ['h_out'] },
        { op: 'Identity', inputs: ['h_out'], outputs: ['row'] },
      ],
    };
    const scan = {
      inputs: [v('s', [3]), v('r', [3])],
      outputs: [v('s_out', [3]), v('s_row', [3])],
      nodes: [
        { op: 'Add', inputs: ['s', 'r'], outputs: ['s_out'] },
        { op: 'Mul', inputs: ['s_out', 'w'], outputs: ['s_row'] },
      ],
    };
    return makeModel({
      inputs: [v('x', [3]), v('h0', [3])],
      outputs: [v('sum', [3]), v('rows', [4, 3])],
      initializers: [f32('w', [3], 0.3), makeTensor('four', 'int64', [], [4n]), makeTensor('two', 'int64', [], [2n])],
      nodes: [
        { op: 'Loop', inputs: ['four', '', 'h0'], outputs: ['hT', 'stacked'], attributes: { body: { graph: outer } } },
        { op: 'Scan', inputs: ['hT', 'stacked'], outputs: ['sum', 'rows'], attributes: { num_scan_inputs: 1, body: { graph: scan } } },
      ],
    });
  },
};

/** Text seeds of the TypeScript parsers' targets (fuzz/corpus/<target>/ holds them too). */
export const seedTexts = {
  'calibration-cache': {
    entropy: 'TRT-100300-EntropyCalibration2\nx: 3c010a14\nconv_out: 3d4ccccd\n',
    minmax: 'TRT-8601-MinMaxCalibration\r\ninput.1: 00000000\r\n',
    headerOnly: 'TRT-100000-LegacyCalibration',
  },
  'shape-spec': {
    one: 'x:1x3x224x224',
    many: "input:8x3x32x32,'mask:ids':4x128,scalar:",
  },
};

/** Binary seeds of the TypeScript parsers' targets, made with the matching writer. */
export const seedFiles = {
  npy: {
    float32: () => writeNpy(new Tensor('float32', [1, -2, 0.5, 3, 4, 5], [2, 3])),
    int64: () => writeNpy(new Tensor('int64', [7n], [1])),
    scalar: () => writeNpy(new Tensor('uint8', [9], [])),
  },
};
