// convertToFloat16's activation check: with data, nodes whose outputs leave float16's range
// (|x| > 65504) stay float32 with their readers and are named; without data a warning says
// the activations were not checked. On a network whose overflow follows from arithmetic, and
// on openWakeWord's melspectrogram fed int16-scale audio (where the zoo's cache holds it).
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { buildEngine, convertToFloat16, type Float16Report, InferenceSession, InvalidArgumentError, Logger, Tensor } from '../lib/index.js';
import { overflowModel } from './fixtures/models.js';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { isCached, modelPath } from './zoo/harness.mjs';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { manifest } from './zoo/models.mjs';
// @ts-expect-error plain ESM, no type declarations
import { speechLike } from './zoo/signals.mjs';

const input = Float32Array.of(100, -50, 0.5, 3);
const feeds = () => ({ x: new Tensor('float32', input, [1, 4]) });

async function runSim(model: Uint8Array, x: Tensor, name: string, shapes: Record<string, number[]>): Promise<Float32Array> {
  const session = await InferenceSession.create(await buildEngine(model, { backend: 'sim', shapes }), { backend: 'sim' });
  try {
    return (await session.run({ [name]: x }))[session.outputNames[0]!]!.toFloat32();
  } finally {
    session.dispose();
  }
}

/** A logger that keeps its messages; they arrive from native code, so wait a turn before reading. */
function recordingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  return { logger: new Logger({ onMessage: (_s, m) => messages.push(m) }), messages };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('convertToFloat16 activation check', () => {
  it('without the check, float16 overflows to Inf; with data, the overflowing node and its reader stay float32', async () => {
    const shapes = { x: [1, 4] };
    const quiet = recordingLogger();
    const plain = await convertToFloat16(overflowModel(), { logger: quiet.logger });
    const unchecked = await runSim(plain, feeds().x, 'x', shapes);
    // 100 * 1000 = 1e5 rounds to +Inf in float16, so y[0] is Inf.
    expect(unchecked[0]).toBe(Infinity);
    await settle();
    expect(quiet.messages.join('\n')).toMatch(/activation ranges were not checked/);

    let report: Float16Report | undefined;
    const { logger, messages } = recordingLogger();
    const checked = await convertToFloat16(overflowModel(), { calibrationData: [feeds()], backend: 'sim', logger, onReport: (r) => (report = r) });
    expect(report!.activationsChecked).toBe(true);
    expect(report!.outOfRange).toEqual([{ tensor: 'scaled', node: 'scale_up', opType: 'Mul', maxAbs: 100_000, nonFinite: 0 }]);
    expect(report!.keptFloat32).toEqual(['scale_up', 'scale_down']);
    await settle();
    expect(messages.join('\n')).toMatch(/Mul node 'scale_up' output 'scaled' reaches \|x\| = 1\.000e\+5 > 65504/);
    const y = await runSim(checked, feeds().x, 'x', shapes);
    // 2x, with 'back' rounded once to float16 on the way to the float16 Add (relative 2^-11).
    for (let i = 0; i < 4; i++) expect(Math.abs(y[i]! - 2 * input[i]!)).toBeLessThanOrEqual(Math.abs(2 * input[i]!) * 2 ** -10);
  });

  it('data that stays in range keeps everything float16 (nothing reported)', async () => {
    let report: Float16Report | undefined;
    const small = { x: new Tensor('float32', Float32Array.of(1, -2, 3, 0.5), [1, 4]) };
    const { logger } = recordingLogger();
    await convertToFloat16(overflowModel(), { validationData: [small], backend: 'sim', logger, onReport: (r) => (report = r) });
    expect(report).toEqual({ activationsChecked: true, outOfRange: [], keptFloat32: [] });
  });

  it('refuses both data options at once, and data that is not iterable', async () => {
    await expect(convertToFloat16(overflowModel(), { calibrationData: [feeds()], validationData: [feeds()] })).rejects.toThrow(InvalidArgumentError);
    await expect(convertToFloat16(overflowModel(), { calibrationData: 5 as unknown as [] })).rejects.toThrow(/Iterable or AsyncIterable of feeds for calibrationData/);
    await expect(convertToFloat16(overflowModel(), { onReport: 'x' as unknown as () => void })).rejects.toThrow(/onReport/);
  });
});

const melEntry = (manifest as { name: string }[]).find((e) => e.name === 'openWakeWord melspectrogram');

describe.skipIf(melEntry === undefined || !isCached(melEntry))('openWakeWord melspectrogram on int16-scale audio', () => {
  it('NaN everywhere after a plain conversion; float32 where the power spectrum overflows with data', { timeout: 120_000 }, async () => {
    const bytes = readFileSync(modelPath(melEntry) as string);
    const shapes = { input: [1, 16000] };
    const audio = (seed: number) => new Tensor('float32', speechLike(1, { seed, peak: 32767, leadingSilence: 0.1 }) as Float32Array, [1, 16000]);
    const expected = await runSim(bytes, audio(99), 'input', shapes);
    const { logger } = recordingLogger();
    const plain = await runSim(await convertToFloat16(bytes, { logger }), audio(99), 'input', shapes);
    expect(plain.filter((v) => !Number.isFinite(v)).length).toBe(plain.length);

    let report: Float16Report | undefined;
    const checked = await convertToFloat16(bytes, { calibrationData: [1, 2].map((s) => ({ input: audio(s) })), backend: 'sim', logger, onReport: (r) => (report = r) });
    // |X|^2 of a 32767-peak signal is ~1e12: the STFT's Convs, the Pows, the MatMul onto the
    // mel filters and the Clip before the Log exceed 65504; the Log's output is small again.
    const kept = report!.keptFloat32;
    expect(kept).toEqual(expect.arrayContaining(['Pow_11', 'Pow_13', 'MatMul_15', 'Log_17']));
    expect(report!.outOfRange.every((a) => a.maxAbs > 65504)).toBe(true);
    const got = await runSim(checked, audio(99), 'input', shapes);
    let dot = 0;
    let rr = 0;
    let cc = 0;
    for (let i = 0; i < got.length; i++) {
      expect(Number.isFinite(got[i])).toBe(true);
      dot += got[i]! * expected[i]!;
      rr += expected[i]! * expected[i]!;
      cc += got[i]! * got[i]!;
    }
    expect(dot / Math.sqrt(rr * cc)).toBeGreaterThan(0.999);
  });
});
