// Runs only through scripts/test-tensorrt-double.mjs: proves the run really goes through the
// adapter and the double (not the sim), and drives the double's fault injection.
import { describe, expect, it } from 'vitest';

import { backends, buildEngine, InferenceSession, Tensor } from '../../lib/index.js';
import { mlpModel, randomFloats } from '../fixtures/models.js';

// TNRT_DOUBLE_TRT_MAJOR is set by scripts/test-tensorrt-double.mjs; a plain `npm test` skips this.
describe.skipIf(!process.env.TNRT_DOUBLE_TRT_MAJOR)('the TensorRT double', () => {
  it('is what backend tensorrt loaded', async () => {
    const trt = backends()[1]!;
    expect(trt).toMatchObject({ name: 'tensorrt', available: true });
    expect(trt.version).toMatch(new RegExp(`^${process.env.TNRT_DOUBLE_TRT_MAJOR ?? '\\d+'}\\.`));
    const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles: [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }] });
    // A double plan: the sim engine behind the double's own header.
    expect(Buffer.from(engine.subarray(0, 7)).toString()).toBe('TNRTDBL');
    using session = await InferenceSession.create(engine);
    expect(session.backend).toBe('tensorrt');
    const out = await session.run({ x: new Tensor('float32', randomFloats(16, 3), [2, 8]) });
    expect(out.y!.dims).toEqual([2, 4]);
  });
});
