// Builds the engine target's seeds: one sim engine per ONNX seed (fuzz/corpus/onnx/), with a
// profile of 1..4 on every dynamic dim, into the folder given as argv[2]. Engines are built
// at fuzz time rather than committed: the repo never holds built engines, and a seed must be
// in the current engine format version to get past the version check.
// Run as its own process so that it loads the same addon as the case processes.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { Builder, Logger } from '../../dist/index.js';

const [, , outDir, onnxDir = 'fuzz/corpus/onnx'] = process.argv;
mkdirSync(outDir, { recursive: true });
const logger = new Logger({ minSeverity: 'error', onMessage: () => {} });
for (const file of readdirSync(onnxDir).filter((f) => f.endsWith('.onnx'))) {
  const builder = new Builder({ backend: 'sim', logger });
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(readFileSync(join(onnxDir, file)));
  const config = builder.createBuilderConfig();
  const profile = builder.createOptimizationProfile();
  for (const input of network.inputs) {
    if (!input.shape.some((d) => d < 0)) continue;
    const at = (n) => input.shape.map((d) => (d < 0 ? n : d));
    profile.setDimensions(input.name, { min: at(1), opt: at(2), max: at(4) });
  }
  if (profile.inputs.length > 0) config.addOptimizationProfile(profile);
  writeFileSync(join(outDir, `${basename(file, '.onnx')}.engine`), await builder.buildSerializedNetwork(network, config));
  builder.dispose();
}
