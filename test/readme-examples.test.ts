// README.md's code, so that the README and the API cannot drift apart. Every ```ts block is
// compiled against the built declarations (dist/*.d.ts) as a user's project would compile it,
// and run on the sim in a directory holding the model it names; every command of every ```sh
// block is run, or skipped with the reason given in SHELL below. A block or command the tables
// do not know fails the test, so new README code gets checked too.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { buildEngine } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { assertDeclarationsFresh, compile, root } from './fixtures/typescript.js';

const exec = promisify(execFile);

interface Block {
  lang: string;
  /** README line of the first line of code. */
  line: number;
  code: string;
}

/** The fenced blocks of a Markdown text, indented ones (inside list items) included. */
function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const end = lines.findIndex((l, k) => k > i && /^\s*```\s*$/.test(l));
    blocks.push({ lang: open[2]!, line: i + 2, code: lines.slice(i + 1, end).map((l) => l.slice(indent)).join('\n') });
    i = end;
  }
  return blocks;
}

// Models the examples name as model.onnx: an image model, x [batch, 3, 224, 224] -> 1x1 Conv to
// 4 channels -> Relu, in a dynamic and a static (batch 8) form, and a vector one, x [batch, 3] -> y [batch, 2].
function imageModel(batch: number | string): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [batch, 3, 224, 224] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [batch, 4, 224, 224] }],
    initializers: [makeTensor('W', 'float32', [4, 3, 1, 1], randomFloats(12, 1)), makeTensor('B', 'float32', [4], randomFloats(4, 2))],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'] },
      { op: 'Relu', inputs: ['c'], outputs: ['y'] },
    ],
  });
}
const vectorModel = (): Uint8Array =>
  makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: [makeTensor('W', 'float32', [3, 2], [1, 0, 0, 1, 1, 1])],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });

/** One image batch, x [8, 3, 224, 224], as raw float32 bytes. */
const imageBatch = (seed: number): Float32Array => randomFloats(8 * 3 * 224 * 224, seed);

/**
 * A float32 .npy file, spelled out from NumPy's format description rather than by the
 * library's writer under test: magic, version 1.0, header length, a dict padded with spaces
 * to a multiple of 64 bytes ending in a newline, then the data.
 */
function npyFloat32(data: Float32Array, shape: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const padded = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(padded.length, 8);
  return Buffer.concat([head, Buffer.from(padded, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** The files a directory needs for a block: model.onnx and whatever else the block reads. */
type Fixture = (dir: string) => void | Promise<void>;
const fixtures = {
  dynamicImages: (dir: string) => {
    writeFileSync(join(dir, 'model.onnx'), imageModel('batch'));
    writeFileSync(join(dir, 'input.bin'), imageBatch(3));
    writeFileSync(join(dir, 'input.npy'), npyFloat32(imageBatch(4), [8, 3, 224, 224]));
  },
  /** dynamicImages, and model.engine built from it at x [8, 3, 224, 224], for the commands that inspect an engine. */
  builtImages: async (dir: string) => {
    fixtures.dynamicImages(dir);
    writeFileSync(join(dir, 'model.engine'), await buildEngine(join(dir, 'model.onnx'), { backend: 'sim', shapes: 'x:8x3x224x224' }));
  },
  staticImages: (dir: string) => {
    writeFileSync(join(dir, 'model.onnx'), imageModel(8));
    mkdirSync(join(dir, 'calib'));
    for (const b of [1, 2]) writeFileSync(join(dir, 'calib', `batch-${b}.bin`), imageBatch(b));
  },
  /** The dynamic model with calibration and validation batches at batch 8 (the opt shape). */
  dynamicImagesWithData: (dir: string) => {
    writeFileSync(join(dir, 'model.onnx'), imageModel('batch'));
    for (const [sub, seeds] of [['calib', [1, 2]], ['val', [3]]] as const) {
      mkdirSync(join(dir, sub));
      for (const b of seeds) writeFileSync(join(dir, sub, `batch-${b}.bin`), imageBatch(b));
    }
  },
  vectors: (dir: string) => writeFileSync(join(dir, 'model.onnx'), vectorModel()),
  /** model.onnx at opset 11: Squeeze with its axes as an attribute, which opset 13 made an input. */
  opset11: (dir: string) =>
    writeFileSync(
      join(dir, 'model.onnx'),
      makeModel({
        opset: 11,
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
        nodes: [{ op: 'Squeeze', inputs: ['x'], outputs: ['y'], attributes: { axes: [0] } }],
      }),
    ),
  /** model.engine: x float16 [1, 2], cast to y float32. */
  castEngine: async (dir: string) => {
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float16', shape: [1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }],
      nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attributes: { to: 1 } }],
    });
    writeFileSync(join(dir, 'model.engine'), await buildEngine(model, { backend: 'sim' }));
  },
} satisfies Record<string, Fixture>;

interface TsPlan {
  /** Text that identifies the block. */
  contains: string;
  /** TypeScript put before the block: what the README leaves to the reader (an input, an AbortSignal). */
  setup: string;
  fixture?: Fixture;
  /** What its output must show, where it prints something worked out by hand. */
  prints?: RegExp;
  /** Why the block is only compiled, when it is not run. */
  compileOnly?: string;
}

const TS: TsPlan[] = [
  { contains: "import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';", setup: 'const data = new Float32Array(8 * 3 * 224 * 224);', fixture: fixtures.dynamicImages },
  { contains: "import { Builder, Logger, OnnxParser, Runtime, Tensor } from 'tensorrt-node';", setup: 'const signal = new AbortController().signal;', fixture: fixtures.vectors },
  {
    contains: "setShapeValues('s'",
    setup: [
      "import { buildEngine, Tensor, type Builder, type Engine, type ExecutionContext } from 'tensorrt-node';",
      'declare const builder: Builder, engine: Engine, context: ExecutionContext, x: Tensor;',
    ].join('\n'),
    compileOnly: 'a fragment that continues the TensorRT-vocabulary block above (its builder, engine and context)',
  },
  {
    contains: "precision: 'fp16'",
    setup: [
      "import { buildEngine, Tensor } from 'tensorrt-node';",
      'function* batches() {',
      '  for (let b = 0; b < 2; b++) yield { x: new Tensor(\'float32\', new Float32Array(8 * 3 * 224 * 224).map(() => Math.random()), [8, 3, 224, 224]) };',
      '}',
    ].join('\n'),
    fixture: fixtures.staticImages,
  },
  {
    contains: 'await session.benchmark({',
    setup: "import { InferenceSession } from 'tensorrt-node';\nconst session = await InferenceSession.create('model.engine');",
    fixture: fixtures.castEngine,
  },
  {
    contains: 'upgradeOpset(model, 13)',
    setup: "import { readFileSync, writeFileSync } from 'node:fs';\nimport { parseModel, upgradeOpset, writeModel } from 'tensorrt-node';",
    fixture: fixtures.opset11,
  },
  // HOME moved into the block's directory: the cache lands there, not in the user's home.
  { contains: "cache: { dir: join(process.env.HOME", setup: 'process.env.HOME = process.cwd();', fixture: fixtures.dynamicImages },
  // float16 1.5 and 2.5 are exact, cast to float32 and doubled: 3 and 5.
  { contains: "Tensor.fromNumbers('float16', [1.5, 2.5], [1, 2])", setup: '', fixture: fixtures.castEngine, prints: /^Float32Array\(2\) \[ 3, 5 \]$/m },
];

interface ShellPlan {
  command: RegExp;
  /** Where it runs: the repository itself, or a fresh directory holding a fixture. */
  cwd?: 'repository' | Fixture;
  /** Why it is not run here. */
  skip?: string;
}

const SHELL: ShellPlan[] = [
  { command: /^npm install$/, skip: 'installs from the registry and compiles the addon (minutes); the packaging test installs the packed tarball' },
  { command: /^npm install tensorrt-node$/, skip: 'installs from the registry; npm run test:package installs the packed tarball the same way' },
  { command: /^npm test$/, skip: 'the suite this test is part of' },
  { command: /^npm run demo$/, cwd: 'repository' },
  { command: /^npx tensorrt-node (build model\.onnx -o model\.engine --(shapes|min-shapes) |run |bench |backends$|--version$)/, cwd: fixtures.dynamicImages },
  { command: /^npx tensorrt-node build model\.onnx .*--int8 .*--min-shapes /, cwd: fixtures.dynamicImagesWithData },
  { command: /^npx tensorrt-node inspect model\.onnx --backend tensorrt/, skip: "needs TensorRT's ONNX parser; test/cli-inspect.test.ts runs the sim's" },
  { command: /^npx tensorrt-node (inspect model\.engine|compare model\.onnx|export-triton model\.onnx)/, cwd: fixtures.builtImages },
  {
    command: /^npx tensorrt-node export-triton model\.engine/,
    skip: 'the engine here is a sim engine, which is not a TensorRT plan and is refused; test/cli-export-triton.test.ts exports a plan built through the TensorRT double',
  },
  { command: /^npx tensorrt-node (build|quantize) model\.onnx .*(--fp16|--int8|--calib-data)/, cwd: fixtures.staticImages },
  { command: /^npm run smoke:tensorrt$/, skip: 'needs an NVIDIA GPU and TensorRT' },
  { command: /^npm run smoke:tensorrt -- --double /, skip: 'builds the TensorRT double from TensorRT headers at a path of your own (minutes); npm run test:tensorrt-double covers it' },
  { command: /^npm run smoke:tensorrt -- --sim$/, cwd: 'repository' },
  { command: /^npm run check:tensorrt -- /, skip: 'compiles the adapter against TensorRT headers at a path of your own (minutes)' },
  { command: /^npm run conformance$/, skip: "ONNX's backend test suite, minutes; npm test runs it" },
  { command: /^(ZOO_FILTER=\w+ )?npm run zoo\b/, skip: 'fetches real models from the npm registry (npm pack) and runs each for minutes; --offline runs the cached ones' },
  { command: /^npm run (bench|bench:sim|bench:calib|soak)\b/, skip: 'timed benchmarks that run for minutes' },
  { command: /^npm run (fuzz|fuzz:replay|test:sanitize|test:tsan)\b/, skip: 'fuzzing and sanitizer builds, minutes each' },
];

/** The commands of a shell block: comments dropped, continuation lines joined. */
function commands(block: Block): { line: number; command: string }[] {
  const out: { line: number; command: string }[] = [];
  let pending: { line: number; command: string } | undefined;
  block.code.split('\n').forEach((text, k) => {
    const code = text.replace(/\s+#.*$/, '').trim();
    if (!code) return;
    pending = pending ? { line: pending.line, command: `${pending.command} ${code}` } : { line: block.line + k, command: code };
    if (code.endsWith('\\')) pending.command = pending.command.slice(0, -1).trimEnd();
    else {
      out.push(pending);
      pending = undefined;
    }
  });
  return out;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = codeBlocks(readme);
const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const shellBlocks = blocks.filter((b) => b.lang === 'sh' || b.lang === 'bash');
const shellCommands = shellBlocks.flatMap(commands);
const work = mkdtempSync(join(tmpdir(), 'tensorrt-node-readme-'));
const cli = join(root, 'dist', 'cli', 'main.js');

function tsPlan(block: Block): TsPlan {
  const plans = TS.filter((p) => block.code.includes(p.contains));
  if (plans.length !== 1) throw new Error(`README line ${block.line}: a TypeScript block test/readme-examples.test.ts ${plans.length ? 'matches more than once' : 'does not know'}; add it to TS`);
  return plans[0]!;
}

function shellPlan(command: string, line: number): ShellPlan {
  const plan = SHELL.find((p) => p.command.test(command));
  if (!plan) throw new Error(`README line ${line}: \`${command}\` is not in test/readme-examples.test.ts's SHELL table; say how to run it or why not`);
  return plan;
}

async function runIn(cwd: string, file: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd, env: { ...process.env, TENSORRT_NODE_BACKEND: 'sim' }, timeout: 300_000, maxBuffer: 16 << 20 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

describe('README.md', () => {
  it('has TypeScript and shell examples, each known to this test', () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(5);
    expect(shellCommands.length).toBeGreaterThanOrEqual(20);
    for (const block of tsBlocks) tsPlan(block);
    for (const { command, line } of shellCommands) shellPlan(command, line);
  });

  describe('TypeScript blocks', () => {
    // All blocks compile in one program: a project of their own, with this package installed
    // (a link to the repository) and a file per block, its setup lines first.
    const project = join(work, 'ts');
    const file = (i: number): string => `block-${tsBlocks[i]!.line}`;

    beforeAll(async () => {
      assertDeclarationsFresh();
      mkdirSync(join(project, 'node_modules'), { recursive: true });
      symlinkSync(root, join(project, 'node_modules', 'tensorrt-node'));
      writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'ESNext.Disposable'], strict: true,
            skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], outDir: 'out', rootDir: '.',
          },
          include: ['*.ts'],
        }),
      );
      tsBlocks.forEach((block, i) => writeFileSync(join(project, `${file(i)}.ts`), `${tsPlan(block).setup}\nexport {};\n${block.code}\n`));
    });

    it('compile against the built declarations', async () => {
      const { output } = await compile(['-p', join(project, 'tsconfig.json')]);
      // tsc names the file and line; say which README line that is.
      const errors = output.split('\n').filter(Boolean).map((message) => {
        const at = /block-(\d+)\.ts\((\d+),/.exec(message);
        if (!at) return message;
        const block = tsBlocks.find((b) => b.line === Number(at[1]))!;
        const setupLines = tsPlan(block).setup.split('\n').length + 1;
        return `README line ${block.line + Number(at[2]) - setupLines - 1}: ${message}`;
      });
      expect(errors).toEqual([]);
    }, 120_000);

    tsBlocks.forEach((block, i) => {
      const plan = TS.find((p) => block.code.includes(p.contains));
      const title = `the block at line ${block.line} runs on the sim${plan?.compileOnly ? ` (not run, only compiled: ${plan.compileOnly})` : ''}`;
      it.skipIf(plan?.compileOnly !== undefined)(title, async () => {
        const dir = mkdtempSync(join(work, 'run-'));
        await plan!.fixture?.(dir);
        const { code, output } = await runIn(dir, process.execPath, [join(project, 'out', `${file(i)}.js`)]);
        expect(output).not.toMatch(/Error/);
        expect(code).toBe(0);
        if (plan!.prints) expect(output).toMatch(plan!.prints);
      }, 300_000);
    });
  });

  describe('shell commands', () => {
    // A block's commands run in order in one directory, as a reader would type them: `run`
    // loads the engine the `build` above it wrote.
    for (const block of shellBlocks) {
      let dir: string | undefined;
      for (const { command, line } of commands(block)) {
        const plan = SHELL.find((p) => p.command.test(command));
        it.skipIf(!plan || plan.skip !== undefined)(`line ${line}: ${command}${plan?.skip ? ` (not run: ${plan.skip})` : ''}`, async () => {
          if (plan!.cwd === 'repository') dir = root;
          else if (dir === undefined) {
            dir = mkdtempSync(join(work, 'sh-'));
            await (plan!.cwd as Fixture)(dir);
          }
          // `npx tensorrt-node` is this checkout's CLI: npx would otherwise fetch the package.
          const { code, output } = await runIn(dir, 'bash', ['-c', command.replace(/^npx tensorrt-node\b/, `"${process.execPath}" "${cli}"`)]);
          expect(output).not.toMatch(/Error|error:/);
          expect(code, output).toBe(0);
        }, 300_000);
      }
    }
  });
});
