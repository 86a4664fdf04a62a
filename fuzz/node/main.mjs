#!/usr/bin/env node
// `npm run fuzz -- [--seconds N] [--target name[,name]] [--seed S]`: fuzzes each target for
// N seconds and prints, per target, the cases run, crashes, hangs, memory blow-ups and peak
// RSS. Findings go to fuzz/findings/<target>/ (input + a .txt saying what happened).
// `npm run fuzz -- --replay [dir]`: runs every file of dir (default the regression corpus,
// test/fuzz-corpus/regressions/) through every target once, Node and native.
// `npm run fuzz -- --write-seeds`: rewrites fuzz/corpus/ from seed-models.mjs.
// Exit code 1 when anything was found. Environment for the case processes is inherited:
// test:sanitize runs this under the sanitizer build (scripts/test-sanitize.sh).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { mutateBytes, mutateEngine, mutateText } from './byte-mutator.mjs';
import { CasePool, isFinding } from './case-pool.mjs';
import { NATIVE_TARGETS, reproduce, runLibFuzzer } from './libfuzzer.mjs';
import { mutateOnnx } from './onnx-mutator.mjs';
import { makeRandom } from './random.mjs';

process.chdir(resolve(fileURLToPath(new URL('../..', import.meta.url))));

const ENGINE_SEEDS = 'build-fuzz/seeds/engine';
const NODE_TARGETS = {
  pipeline: { mutate: mutateOnnx, seeds: 'fuzz/corpus/onnx', ext: '.onnx' },
  engine: { mutate: mutateEngine, seeds: ENGINE_SEEDS, ext: '.engine' },
  'calibration-cache': { mutate: mutateText, seeds: 'fuzz/corpus/calibration-cache', ext: '.txt' },
  'shape-spec': { mutate: mutateText, seeds: 'fuzz/corpus/shape-spec', ext: '.txt' },
  npy: { mutate: mutateBytes, seeds: 'fuzz/corpus/npy', ext: '.npy' },
};
const ALL_TARGETS = [...Object.keys(NODE_TARGETS), ...Object.keys(NATIVE_TARGETS)];
const MAX_CORPUS = 2000;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '30' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    replay: { type: 'boolean', default: false },
    'write-seeds': { type: 'boolean', default: false },
    findings: { type: 'string', default: 'fuzz/findings' },
    'timeout-ms': { type: 'string', default: '10000' },
    'rss-limit-mb': { type: 'string', default: '1536' },
  },
});

function fail(message) {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

const targets = (opts.target ?? ALL_TARGETS).flatMap((t) => t.split(','));
for (const t of targets) if (!ALL_TARGETS.includes(t)) fail(`unknown target '${t}'; the targets are ${ALL_TARGETS.join(', ')}`);
const seconds = Number(opts.seconds);
if (!(seconds > 0)) fail(`--seconds must be a positive number, got '${opts.seconds}'`);
const poolOptions = { timeoutMs: Number(opts['timeout-ms']), rssLimitMb: Number(opts['rss-limit-mb']) };

function readDir(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

function makeEngineSeeds() {
  rmSync(ENGINE_SEEDS, { recursive: true, force: true });
  const run = spawnSync(process.execPath, ['fuzz/node/make-engine-seeds.mjs', ENGINE_SEEDS], { stdio: 'inherit' });
  if (run.status !== 0) fail('building the engine seeds failed (see above); is the addon built (npm run build:native)?');
}

async function writeSeeds() {
  const { seedFiles, seedModels, seedTexts } = await import('./seed-models.mjs');
  mkdirSync('fuzz/corpus/onnx', { recursive: true });
  for (const [name, make] of Object.entries(seedModels)) writeFileSync(`fuzz/corpus/onnx/${name}.onnx`, make());
  for (const [target, texts] of Object.entries(seedTexts)) {
    mkdirSync(`fuzz/corpus/${target}`, { recursive: true });
    for (const [name, text] of Object.entries(texts)) writeFileSync(`fuzz/corpus/${target}/${name}.txt`, text);
  }
  for (const [target, files] of Object.entries(seedFiles)) {
    mkdirSync(`fuzz/corpus/${target}`, { recursive: true });
    for (const [name, make] of Object.entries(files)) writeFileSync(`fuzz/corpus/${target}/${name}${NODE_TARGETS[target].ext}`, make());
  }
  console.log('fuzz: wrote fuzz/corpus/');
}

// A crash in a case process has no stack (the addon is built without symbols or sanitizers);
// the same input through the matching native target, when built, gives the sanitizer's.
const NATIVE_TWIN = { pipeline: 'native-onnx', engine: 'native-engine' };
function nativeReproduction(target, file, result) {
  const twin = NATIVE_TWIN[target];
  if (!twin || result.outcome === 'js-error' || !existsSync(join('build-fuzz', NATIVE_TARGETS[twin].binary))) return '';
  const report = reproduce(twin, file);
  return `--- the same input through ${twin} (ASan+UBSan) ---\n${report || 'passes there (no report)'}\n`;
}

/** Saves a finding's input and what happened to it; returns the input's path. */
function saveFinding(target, bytes, result) {
  const dir = join(opts.findings, target);
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha1').update(bytes).digest('hex').slice(0, 12);
  const file = join(dir, `${result.outcome}-${hash}${NODE_TARGETS[target].ext}`);
  writeFileSync(file, bytes);
  const report = [`target: ${target}`, `outcome: ${result.outcome}`, result.detail, result.name && `${result.name}: ${result.message}`,
    result.stack, result.stderr && `--- stderr (tail) ---\n${result.stderr}`].filter(Boolean).join('\n');
  writeFileSync(`${file}.txt`, `${report}\n${nativeReproduction(target, file, result)}`);
  return file;
}

// Without coverage feedback, diversity of outcomes stands in for it: a mutant is kept as a
// parent when it ends in an error message (numbers masked) not seen before.
function signature(result) {
  return `${result.outcome}:${result.code ?? ''}:${(result.message ?? '').replace(/\d+/g, '#').replace(/'[^']*'/g, "'_'").slice(0, 160)}`;
}

async function fuzzNodeTarget(name, rnd) {
  const target = NODE_TARGETS[name];
  const corpus = readDir(target.seeds).map((f) => f.bytes);
  if (corpus.length === 0) fail(`no seeds in ${target.seeds}`);
  const pool = new CasePool(poolOptions);
  const seen = new Set();
  const counts = { cases: 0, crash: 0, hang: 0, rss: 0, 'js-error': 0, typed: 0, ok: 0 };
  const findings = [];
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const bytes = target.mutate(rnd.pick(corpus), rnd);
    const result = await pool.run(name, bytes);
    counts.cases++;
    counts[result.outcome]++;
    if (isFinding(result)) findings.push(saveFinding(name, bytes, result));
    else {
      const sig = signature(result);
      if (!seen.has(sig) && corpus.length < MAX_CORPUS) corpus.push(bytes);
      seen.add(sig);
    }
  }
  pool.close();
  return { cases: counts.cases, crashes: counts.crash, hangs: counts.hang, ooms: counts.rss, jsErrors: counts['js-error'],
    typed: counts.typed, peakRssMb: pool.peakRssMb, findings };
}

// Incremental: a no-op when the fuzzers are up to date. Once per run.
let nativeBuilt;
function buildNativeTargets() {
  nativeBuilt ??= spawnSync('bash', ['fuzz/native/build.sh'], { stdio: 'inherit' }).status === 0;
  return nativeBuilt;
}

/** The head of a finding's report, so that a CI log shows the first stack of each target. */
function printReport(file) {
  const report = readFileSync(`${file}.txt`, 'utf8').split('\n');
  console.log(`  --- ${file}.txt (first lines) ---\n  ${report.slice(0, 40).join('\n  ')}`);
}

function needsEngineSeeds(list) {
  return list.includes('engine') || list.includes('native-engine');
}

async function fuzzAll() {
  if (needsEngineSeeds(targets)) makeEngineSeeds();
  const seed = opts.seed !== undefined ? Number(opts.seed) : Date.now() % 2 ** 31;
  console.log(`fuzz: ${seconds} s per target, seed ${seed}; findings go to ${opts.findings}/<target>/`);
  const rows = [];
  for (const name of targets) {
    let row;
    if (name in NODE_TARGETS) row = await fuzzNodeTarget(name, makeRandom(seed));
    else {
      if (!buildNativeTargets()) fail(`${name} could not be built (fuzz/native/build.sh, see above)`);
      row = await runLibFuzzer(name, seconds, join(opts.findings, name), seed);
      if (row.cases === 0) fail(`${name} ran no cases; its log ends:\n${row.log}`);
    }
    rows.push({ target: name, ...row });
    console.log(`${name.padEnd(18)} cases ${String(row.cases).padStart(8)}  crashes ${row.crashes}  hangs ${row.hangs}  ` +
      `oom/rss ${row.ooms}${row.jsErrors !== undefined ? `  js-errors ${row.jsErrors}` : ''}  peak RSS ${row.peakRssMb.toFixed(0)} MB`);
    for (const f of row.findings.slice(0, 10)) console.log(`  finding: ${f}`);
    if (row.findings.length > 0) printReport(row.findings[0]);
    if (row.findings.length > 10) console.log(`  ... and ${row.findings.length - 10} more in ${join(opts.findings, name)}/`);
  }
  const total = rows.reduce((n, r) => n + r.findings.length, 0);
  console.log(total === 0 ? 'fuzz: no findings' : `fuzz: ${total} finding(s); each input has a .txt next to it with the error or crash report`);
  return total === 0;
}

// Every regression input through every target: an ONNX file is also fed to the engine and
// text parsers and vice versa, since a crash fixed in one parser can hide in a neighbour.
async function replay() {
  const dir = positionals[0] ?? 'test/fuzz-corpus/regressions';
  const files = readDir(dir).filter((f) => extname(f.name) !== '.md');
  if (files.length === 0) fail(`no inputs in ${dir}`);
  const pool = new CasePool(poolOptions);
  let bad = 0;
  for (const file of files) {
    const outcomes = [];
    for (const name of targets) {
      let result;
      if (name in NODE_TARGETS) result = await pool.run(name, file.bytes);
      else if (!buildNativeTargets()) {
        console.log(`${name}: skipped, the native fuzz targets could not be built (needs clang and libFuzzer)`);
        continue;
      }
      else {
        const report = reproduce(name, join(dir, file.name));
        result = report ? { outcome: 'crash', stderr: report } : { outcome: 'ok' };
      }
      outcomes.push(`${name}=${result.outcome}`);
      if (isFinding(result)) {
        bad++;
        console.log(`FAIL ${file.name} via ${name}: ${result.outcome} ${result.detail ?? ''}\n${(result.stack ?? result.stderr ?? '').slice(-3000)}`);
      }
    }
    console.log(`${file.name}: ${outcomes.join(' ')}`);
  }
  pool.close();
  console.log(bad === 0 ? `fuzz: replayed ${files.length} input(s) from ${dir}, all typed errors or clean results` : `fuzz: ${bad} failure(s) replaying ${dir}`);
  return bad === 0;
}

let passed = true;
if (opts['write-seeds']) await writeSeeds();
else if (opts.replay) passed = await replay();
else passed = await fuzzAll();
process.exit(passed ? 0 : 1);
