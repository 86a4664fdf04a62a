/** What `build` and `quantize` print about a mixed-precision result: the target, the float layers, the FLOP share. */
import type { Float16TargetReport } from '../precision/fp16-targets.js';
import type { Int8Report } from '../precision/int8.js';

const flops = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GFLOP` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} MFLOP` : `${n} FLOP`);
// Digits enough that a cosine short of a target never prints as reaching it.
const cos = (c: number): string => (Number.isNaN(c) ? 'NaN' : c === 1 ? '1' : c >= 0.99999 ? c.toFixed(9) : c.toFixed(5));

export interface PrecisionSummary {
  /** Lines for stdout. */
  lines: string[];
  /** A warning for stderr when the target was missed. */
  warning: string | undefined;
}

/** The report of quantizeInt8WithReport or convertToFloat16WithReport, for people. */
export function summarizePrecision(report: Int8Report | Float16TargetReport, reduced: 'INT8' | 'float16'): PrecisionSummary {
  const lines: string[] = [];
  const accuracy = report.accuracy;
  if (accuracy) {
    lines.push(
      `accuracy target: worst output cosine ${cos(accuracy.cosine)} against fp32 on ${accuracy.samples} validation batches ` +
        `(target ${accuracy.minCosine}, ${accuracy.met ? 'met' : 'NOT met'}; ${accuracy.evaluations} candidate model${accuracy.evaluations === 1 ? '' : 's'} measured)`,
    );
    for (const o of accuracy.outputs) lines.push(`  ${o.name}: cosine ${cos(o.cosine)}`);
  }
  // float16's activation check runs before the search; what it kept is not the search's doing.
  const checked = 'activations' in report ? report.activations.keptFloat32 : [];
  if (checked.length > 0) lines.push(`kept in float32 by the activation check (values beyond float16's range on the data): ${checked.join(', ')}`);
  const kept = report.floatNodes;
  const floatKind = reduced === 'INT8' ? 'float' : 'float32';
  lines.push(
    kept.length === 0
      ? `kept in ${floatKind}: none`
      : `kept in ${floatKind} (most sensitive first; cosine with only that layer ${reduced}): ${kept.map((n) => `${n.name} (${n.opType}${n.cosine === undefined ? '' : `, ${cos(n.cosine)}`})`).join(', ')}`,
  );
  const f = report.flops;
  if (f) {
    const part = 'int8' in f ? f.int8 : f.float16;
    lines.push(
      f.total === 0
        ? 'Conv/Gemm/MatMul FLOPs: the model has none'
        : `${reduced} share of Conv/Gemm/MatMul FLOPs: ${((part / f.total) * 100).toFixed(1)}% (${flops(part)} of ${flops(f.total)}, at the first validation batch's shapes)`,
    );
  }
  const warning =
    accuracy && !accuracy.met
      ? `warning: the accuracy target ${accuracy.minCosine} is not met (worst output cosine ${cos(accuracy.cosine)}) even with every candidate layer in ${floatKind}`
      : undefined;
  return { lines, warning };
}
