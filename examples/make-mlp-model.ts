// Writes the examples' MLP model (see mlp-model.ts) to a file, for the command line and
// `npm run demo`. Usage: node build/examples/make-mlp-model.js OUT.onnx
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { mlpModel } from './mlp-model.js';

const out = process.argv[2] ?? 'mlp.onnx';
const model = mlpModel();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, model);
console.log(`wrote ${out} (${model.byteLength} bytes)`);
