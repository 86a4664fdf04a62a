// Calibrating a ~20 MB convolutional model on 100 inputs with quantizeInt8 on the sim, end to
// end (statistics, entropy thresholds, Q/DQ insertion). Goal: under a minute.
import { quantizeInt8, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

let seed = 99;
const random = (n, scale) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 1073741824 - 1) * scale;
  });

const layers = [
  [3, 64],
  [64, 128],
  [128, 256],
  [256, 512],
];
const initializers = [];
const nodes = [];
let input = 'x';
layers.forEach(([cin, cout], i) => {
  initializers.push(makeTensor(`w${i}`, 'float32', [cout, cin, 3, 3], random(cout * cin * 9, Math.sqrt(2 / (cin * 9)))));
  initializers.push(makeTensor(`b${i}`, 'float32', [cout], random(cout, 0.1)));
  nodes.push({ op: 'Conv', inputs: [input, `w${i}`, `b${i}`], outputs: [`c${i}`], attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
  nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
  input = `r${i}`;
});
initializers.push(makeTensor('w4', 'float32', [512, 512, 3, 3], random(512 * 512 * 9, Math.sqrt(2 / 4608))));
nodes.push({ op: 'Conv', inputs: [input, 'w4'], outputs: ['c4'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
nodes.push({ op: 'Relu', inputs: ['c4'], outputs: ['r4'] });
nodes.push({ op: 'Flatten', inputs: ['r4'], outputs: ['f'] });
initializers.push(makeTensor('fw', 'float32', [8192, 256], random(8192 * 256, Math.sqrt(1 / 8192))));
nodes.push({ op: 'MatMul', inputs: ['f', 'fw'], outputs: ['y'] });
const model = makeModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 64, 64] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 256] }],
  initializers,
  nodes,
});

async function* calibrationData(count) {
  for (let i = 0; i < count; i++) yield { x: new Tensor('float32', random(3 * 64 * 64, 1), [1, 3, 64, 64]) };
}

const started = performance.now();
const quantized = await quantizeInt8(model, { calibrationData: calibrationData(100), backend: 'sim' });
const seconds = (performance.now() - started) / 1000;
console.log(`calibrated a ${(model.byteLength / 1e6).toFixed(1)} MB model on 100 inputs in ${seconds.toFixed(1)} s on the sim (goal < 60 s); INT8 model ${(quantized.byteLength / 1e6).toFixed(1)} MB`);
