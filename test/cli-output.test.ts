// The CLI's progress display and its refusal of TensorRT-only bench flags, checked without a
// terminal or TensorRT: the reporter writes to a stand-in stream, the check sees a stand-in session.
import { afterEach, describe, expect, it } from 'vitest';

import { checkTensorRTOnlyFlags } from '../lib/cli/bench-options.js';
import { progressReporter, setVerbosity } from '../lib/cli/output.js';
import { UsageError } from '../lib/cli/usage.js';
import { UnsupportedError } from '../lib/errors.js';
import type { InferenceSession } from '../lib/inference-session.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

afterEach(() => setVerbosity('normal'));

describe('progressReporter', () => {
  it('redraws one bar line on a terminal, with steps and elapsed time', () => {
    const { writes, stream: tty } = stream(true);
    const { onProgress, finish } = progressReporter(tty);
    onProgress({ kind: 'phaseStart', phase: 'Building engine', parent: '', steps: 4 });
    onProgress({ kind: 'step', phase: 'Building engine', step: 0 });
    onProgress({ kind: 'step', phase: 'Building engine', step: 1 });
    onProgress({ kind: 'phaseFinish', phase: 'Building engine' });
    finish();
    expect(writes.slice(0, 4).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true);
    // 24 cells: 0/4, 1/4 (6 filled), 2/4 (12 filled), 4/4 (all)
    expect(writes[0]).toMatch(/^\r\[\.{24}\] Building engine 0\/4  \d+\.\ds/);
    expect(writes[1]).toMatch(/^\r\[#{6}\.{18}\] Building engine 1\/4  /);
    expect(writes[2]).toMatch(/^\r\[#{12}\.{12}\] Building engine 2\/4  /);
    expect(writes[3]).toMatch(/^\r\[#{24}\] Building engine 4\/4  /);
    expect(writes[4]).toBe('\n');
  });

  it('writes plain lines otherwise: start, each quarter, done', () => {
    const { writes, stream: log } = stream(false);
    const { onProgress, finish } = progressReporter(log);
    onProgress({ kind: 'phaseStart', phase: 'Calibration', parent: 'Building engine', steps: 8 });
    for (let step = 0; step < 8; step++) onProgress({ kind: 'step', phase: 'Calibration', step });
    onProgress({ kind: 'phaseFinish', phase: 'Calibration' });
    finish();
    expect(writes.map((w) => w.replace(/\d+\.\ds/, 'T'))).toEqual([
      'Calibration: started (8 steps)  T\n',
      'Calibration: 2/8  T\n',
      'Calibration: 4/8  T\n',
      'Calibration: 6/8  T\n',
      'Calibration: done  T\n',
    ]);
  });

  it('is silent under --quiet', () => {
    setVerbosity('quiet');
    const { writes, stream: tty } = stream(true);
    const { onProgress, finish } = progressReporter(tty);
    onProgress({ kind: 'phaseStart', phase: 'Building engine', parent: '', steps: 1 });
    finish();
    expect(writes).toEqual([]);
  });
});

describe('--useCudaGraph and --noDataTransfers', () => {
  const on = (backend: string) => ({ backend }) as unknown as InferenceSession;
  it('are a usage mistake on the sim and not supported yet on tensorrt', () => {
    expect(() => checkTensorRTOnlyFlags(on('sim'), { useCudaGraph: true })).toThrow(UsageError);
    expect(() => checkTensorRTOnlyFlags(on('tensorrt'), { useCudaGraph: true, noDataTransfers: true })).toThrow(
      new UnsupportedError('--useCudaGraph and --noDataTransfers are not supported yet by the tensorrt backend of tensorrt-node; run without --useCudaGraph and --noDataTransfers'),
    );
    expect(() => checkTensorRTOnlyFlags(on('tensorrt'), {})).not.toThrow();
  });
});
