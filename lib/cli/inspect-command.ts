/** `tensorrt-node inspect FILE`: what an ONNX model or an engine holds (Polygraphy's `inspect`). */
import { access, readFile } from 'node:fs/promises';

import type { EngineInspection } from '../engine-inspection.js';
import { inspectModel, type ModelInspection } from '../model-inspection.js';
import { engineBackend, Runtime } from '../runtime.js';
import { cliLogger } from './output.js';
import { formatDims, formatTable } from './table.js';
import { backendOption, DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, parseCommandLine, UsageError } from './usage.js';

const HELP = `Usage: tensorrt-node inspect FILE [options]

Describes an ONNX model (FILE ending in .onnx) or an engine (any other FILE).
A model: its inputs and outputs, opsets, operator counts, and the nodes the backend's parser
cannot take (nodes inside If/Loop/Scan bodies named by their path).
An engine: its backend and version, inputs and outputs, optimization profiles, device memory,
and its layers (name, type, precision, inputs with the weights a layer holds as parameters,
and outputs; profile 0's, where TensorRT repeats them per profile). A TensorRT engine
reports layer details when built with profilingVerbosity 'detailed' (tensorrt-node's default).

Options:
  --backend NAME             auto (default), tensorrt or sim: the parser asked about a model,
                             or the runtime that loads an engine
  --format FORMAT            text (default) or json
  --engineHostCodeAllowed    load a version-compatible engine (only for engines you trust)
${DEVICE_AND_PLUGIN_HELP}
  -h, --help                 show this help

Examples:
  tensorrt-node inspect model.onnx --backend sim
  tensorrt-node inspect model.engine --format json`;

function formatModel(file: string, m: ModelInspection): string {
  const io = (t: ModelInspection['inputs'][number]) => [t.name, t.dtype, formatDims(t.shape), t.dynamicDims.length ? `dynamic dims ${t.dynamicDims.join(', ')}` : ''];
  const lines = [
    `model ${file}`,
    `  opsets: ${Object.entries(m.opsets).map(([domain, v]) => `${domain || 'ai.onnx'} ${v}`).join(', ')}${m.producer ? `; producer ${m.producer}` : ''}`,
    'inputs:',
    formatTable(m.inputs.map(io), '  '),
    'outputs:',
    formatTable(m.outputs.map(io), '  '),
    `operators (${m.numNodes} nodes):`,
    formatTable(m.operators.map((o) => [o.op, String(o.count)]), '  '),
  ];
  if (m.unsupported.length === 0) {
    lines.push(`backend ${m.backend}: every node parses`);
  } else {
    lines.push(`backend ${m.backend}: ${m.unsupported.length} node(s) the parser cannot take:`);
    lines.push(formatTable(m.unsupported.map((e) => [e.node || '(graph)', e.op, e.description]), '  '));
  }
  return lines.join('\n');
}

function formatEngine(file: string, e: EngineInspection): string {
  const lines = [
    `engine ${file}`,
    `  backend ${e.backend} ${e.version}; device memory ${e.deviceMemorySize} bytes; ${e.numLayers} layers; ${e.profiles.length} profile(s); profilingVerbosity ${e.profilingVerbosity}`,
  ];
  for (const mode of ['input', 'output'] as const) {
    lines.push(`${mode}s:`);
    lines.push(formatTable(e.io.filter((t) => t.mode === mode).map((t) => [
      t.name, t.dtype, formatDims(t.shape),
      [t.dynamicDims.length ? `dynamic dims ${t.dynamicDims.join(', ')}` : '', t.isShapeTensor ? 'shape tensor' : ''].filter((s) => s).join('; '),
    ]), '  '));
  }
  e.profiles.forEach((profile, p) => {
    lines.push(`profile ${p}:`);
    lines.push(formatTable(Object.entries(profile).map(([name, r]) => [
      name, `min ${formatDims(r.min)}`, `opt ${formatDims(r.opt)}`, `max ${formatDims(r.max)}`,
      r.values ? `values min [${r.values.min.join(', ')}] opt [${r.values.opt.join(', ')}] max [${r.values.max.join(', ')}]` : '',
    ]), '  '));
  });
  if (e.layerError !== undefined) {
    lines.push(`layers: unreadable (${e.layerError})`);
  } else if (e.layerDetail === 'none') {
    lines.push(`layers: not recorded (the engine was built with profilingVerbosity ${e.profilingVerbosity})`);
  } else {
    lines.push(e.layerDetail === 'names' ? 'layers (names only: build with profilingVerbosity detailed for more):' : 'layers:');
    const tensors = (list: EngineInspection['layers'][number]['inputs']) => list.map((t) => t.dims ? `${t.name} ${formatDims(t.dims)}` : t.name).join(', ');
    // Weights held as parameters follow the input tensors: "x 1x1x28x28 [Weights Float 150, Bias Float 6]".
    const weights = (l: EngineInspection['layers'][number]) => (l.weights ? ` [${l.weights.map((w) => `${w.role} ${w.type} ${w.count}`).join(', ')}]` : '');
    const rows = e.layers.map((l, i) => e.layerDetail === 'names' ? [String(i), l.name] : [String(i), l.name, l.type ?? '', l.precision ?? '', `${tensors(l.inputs)}${weights(l)} -> ${tensors(l.outputs)}`]);
    lines.push(formatTable(e.layerDetail === 'names' ? rows : [['#', 'name', 'type', 'precision', 'inputs -> outputs'], ...rows], '  '));
    if (e.layerDetail === 'detailed' && e.layers.every((l) => l.outputs.every((t) => t.format === undefined))) {
      lines.push('  (TensorRT reported no tensor formats, so no precision: it gives them only for known input shapes)');
    }
  }
  return lines.join('\n');
}

export async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    backend: { type: 'string' },
    format: { type: 'string' },
    engineHostCodeAllowed: { type: 'boolean' },
    ...DEVICE_AND_PLUGIN_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one model (.onnx) or engine file');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got '${format}'`);
  const backend = backendOption(values.backend);
  const file = positionals[0]!;
  await access(file).catch(() => {
    throw new UsageError(`cannot read ${file}: no such file (give the path of an .onnx model or an engine)`);
  });

  if (file.toLowerCase().endsWith('.onnx')) {
    const model = await inspectModel(file, { logger: cliLogger(), ...(backend && { backend }), ...deviceAndPlugins(values) });
    console.log(format === 'json' ? JSON.stringify({ kind: 'model', file, ...model }, null, 2) : formatModel(file, model));
    return;
  }
  // The engine alone: inspecting needs no execution context and no activation memory.
  const bytes = await readFile(file);
  using runtime = new Runtime({
    logger: cliLogger(),
    backend: engineBackend(bytes, backend),
    ...deviceAndPlugins(values),
    ...(values.engineHostCodeAllowed && { engineHostCodeAllowed: true }),
  });
  using engine = await runtime.deserializeCudaEngine(bytes);
  const inspection = await engine.inspect();
  console.log(format === 'json' ? JSON.stringify({ kind: 'engine', file, ...inspection }, null, 2) : formatEngine(file, inspection));
}
