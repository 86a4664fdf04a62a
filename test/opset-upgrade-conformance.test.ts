// upgradeOpset on ONNX's own test data (Debian's libonnx-testdata): every node case whose model
// is below opset 13, and the PyTorch-exported networks and operators (opset 6), converted to
// 13 and run on onnxruntime-node and on the sim against the stored expected outputs. A
// converted model must pass wherever its original passes on the same runtime (onnxruntime
// 1.23 has no kernels for some opset-6 nodes, and the sim lacks a few operators: there the
// expected outputs alone judge). Prints the counts converted / passed / refused.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { TensorProto_DataType, TensorProtoSchema, type TensorProto } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';

import { parseModel, UnsupportedError, upgradeOpset, writeModel } from '../lib/index.js';
import { loadCase, TESTDATA, tensorFromProto, type TestCase } from './conformance/onnx-test-case.js';
import { type Feeds, mismatch, mismatchValues, runOrt, runOrtValues, runSim } from './fixtures/runtimes.js';

type Verdict = 'passed' | 'failed' | 'not run';
interface Row {
  name: string;
  opset: number;
  refused?: string;
  /** Per runtime: how the original and the converted model fare against the expected outputs. */
  ort?: { original: Verdict; converted: Verdict; why?: string };
  sim?: { original: Verdict; converted: Verdict; why?: string };
}

function listCases(folder: string): string[] {
  const dir = join(TESTDATA, folder);
  return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('test_')).map((d) => join(dir, d)) : [];
}

const cases: TestCase[] = ['node', 'pytorch-converted', 'pytorch-operator']
  .flatMap(listCases)
  .filter((d) => existsSync(join(d, 'model.onnx')))
  .map((d) => loadCase(d, []))
  .filter((c) => c.opset < 13);

async function verdict(run: (m: Uint8Array, f: Feeds) => Promise<Feeds>, model: Uint8Array, c: TestCase, feeds: Feeds, expected: Feeds): Promise<{ v: Verdict; why?: string }> {
  let out: Feeds;
  try {
    out = await run(model, feeds);
  } catch (error) {
    return { v: 'not run', why: String((error as Error).message).split('\n')[0]!.slice(0, 160) };
  }
  for (const name of c.outputNames) {
    const problem = mismatch(out[name], expected[name]!);
    if (problem) return { v: 'failed', why: `${name}: ${problem}` };
  }
  return { v: 'passed' };
}

/** test_data_set_0's tensors as onnxruntime tensors, float64 included (the library's Tensor has no float64). */
function ortData(c: TestCase, prefix: 'input_' | 'output_'): ort.Tensor[] {
  const set = join(c.dir, 'test_data_set_0');
  return readdirSync(set)
    .filter((f) => f.startsWith(prefix))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
    .map((f) => ortTensor(fromBinary(TensorProtoSchema, readFileSync(join(set, f)))));
}

function ortTensor(proto: TensorProto): ort.Tensor {
  const dims = proto.dims.map(Number);
  if (proto.dataType !== TensorProto_DataType.DOUBLE) {
    const t = tensorFromProto(proto);
    return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, dims);
  }
  const data = proto.rawData.byteLength > 0 ? new Float64Array(new Uint8Array(proto.rawData).buffer) : Float64Array.from(proto.doubleData);
  return new ort.Tensor('float64', data, dims);
}

/** A case whose tensors the library cannot hold (float64), on onnxruntime only. */
async function ortOnly(c: TestCase, original: Uint8Array, converted: Uint8Array): Promise<NonNullable<Row['ort']>> {
  const inputs = ortData(c, 'input_');
  const expected = ortData(c, 'output_').map((t) => ({ dims: [...t.dims], values: Array.from(t.data as ArrayLike<number | bigint>, Number) }));
  const feeds = Object.fromEntries(c.inputNames.map((n, i) => [n, inputs[i]!]));
  const judge = async (model: Uint8Array): Promise<{ v: Verdict; why?: string }> => {
    let out;
    try {
      out = await runOrtValues(model, feeds);
    } catch (error) {
      return { v: 'not run', why: String((error as Error).message).split('\n')[0]!.slice(0, 160) };
    }
    for (const [i, name] of c.outputNames.entries()) {
      const problem = out[name] ? mismatchValues(out[name], expected[i]!) : 'missing';
      if (problem) return { v: 'failed', why: `${name}: ${problem}` };
    }
    return { v: 'passed' };
  };
  const before = await judge(original);
  const after = await judge(converted);
  return { original: before.v, converted: after.v, ...(after.why !== undefined && { why: after.why }) };
}

// 13 is what quantizeInt8 needs; 18 moves the other Reduce* axes and Split's num_outputs;
// 23 is the newest onnxruntime-node 1.23 runs.
const TARGETS = [13, 18, 23];

for (const target of TARGETS) {
  const rows: Row[] = [];

  describe.skipIf(cases.length === 0)(`upgradeOpset to ${target} on ONNX test data below opset 13`, () => {
    for (const c of cases) {
      it(`${c.dir.split('/').slice(-2).join('/')} (opset ${c.opset})`, async () => {
        const row: Row = { name: c.dir.split('/').slice(-2).join('/'), opset: c.opset };
        rows.push(row);
        const model = parseModel(c.model);
        try {
          expect(upgradeOpset(model, target)).toMatchObject({ from: c.opset, to: target });
        } catch (error) {
          expect(error).toBeInstanceOf(UnsupportedError);
          row.refused = (error as Error).message;
          return;
        }
        expect(model.opsetImport.find((o) => o.domain === '')?.version).toBe(BigInt(target));
        const converted = await writeModel(model);
        let data: { inputs: Feeds[string][]; outputs: Feeds[string][] };
        try {
          data = c.data();
        } catch {
          row.ort = await ortOnly(c, c.model, converted);
          if (row.ort.original === 'passed') expect(row.ort.converted, `ort: ${row.ort.why}`).toBe('passed');
          return;
        }
        if (data.inputs.length !== c.inputNames.length) return;
        const feeds: Feeds = Object.fromEntries(c.inputNames.map((n, i) => [n, data.inputs[i]!]));
        const expected: Feeds = Object.fromEntries(c.outputNames.map((n, i) => [n, data.outputs[i]!]));
        for (const [key, run] of [['ort', runOrt], ['sim', runSim]] as const) {
          const original = await verdict(run, c.model, c, feeds, expected);
          const after = await verdict(run, converted, c, feeds, expected);
          row[key] = { original: original.v, converted: after.v, ...(after.why !== undefined && { why: after.why }) };
          // Converting must not lose a pass. Where the original cannot run here (onnxruntime has
          // no opset-6 Gemm, say), the converted model is compared with the expected outputs and
          // the table says how it did.
          if (original.v === 'passed') expect(after.v, `${key}: ${after.why}`).toBe('passed');
          if (original.v === 'not run' && after.v === 'failed') expect.fail(`${key}: ${after.why}`);
        }
      });
    }

    afterAll(() => {
      const count = (f: (r: Row) => boolean) => rows.filter(f).length;
      const tally = (key: 'ort' | 'sim') =>
        `converted passed ${count((r) => r[key]?.converted === 'passed')} (original passed ${count((r) => r[key]?.original === 'passed')}), ` +
        `failed ${count((r) => r[key]?.converted === 'failed')}, not run ${count((r) => r[key]?.converted === 'not run')}`;
      const lines = [
        '',
        `upgradeOpset to ${target}: ${rows.length} cases below opset 13, ${count((r) => !r.refused)} converted, ${count((r) => !!r.refused)} refused`,
        `  onnxruntime: ${tally('ort')}`,
        `  sim:         ${tally('sim')}`,
      ];
      for (const r of rows) {
        if (r.refused) lines.push(`  refused ${r.name}: ${r.refused}`);
        for (const key of ['ort', 'sim'] as const) {
          const x = r[key];
          if (x && x.converted !== 'passed') lines.push(`  ${key} ${x.converted} ${r.name} (original ${x.original}): ${x.why}`);
          else if (x && x.original !== 'passed') lines.push(`  ${key} passes only converted: ${r.name} (original ${x.original})`);
        }
      }
      console.log(lines.join('\n'));
    });
  });
}
