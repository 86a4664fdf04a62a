// The .npy reader and writer: header bytes against the format's arithmetic, round trips, files
// NumPy itself writes and reads (when python3 with numpy is on the machine), and broken files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DataTypeError, InvalidArgumentError } from '../lib/errors.js';
import { npyToTensor, readNpy, writeNpy } from '../lib/npy.js';
import { Tensor } from '../lib/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const python = (code: string) => execFileSync('python3', ['-c', code], { encoding: 'utf8' });

function header(bytes: Uint8Array): { major: number; length: number; text: string } {
  const length = bytes[8]! | (bytes[9]! << 8);
  return { major: bytes[6]!, length, text: new TextDecoder('latin1').decode(bytes.subarray(10, 10 + length)) };
}

describe('writeNpy', () => {
  it('writes a version 1.0 header padded to 64 bytes, as the format specifies', () => {
    const bytes = writeNpy(new Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]));
    expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
    const { major, length, text } = header(bytes);
    expect(major).toBe(1);
    expect(bytes[7]).toBe(0);
    // magic (6) + version (2) + length (2) + header: a multiple of 64, ending in '\n'
    expect((10 + length) % 64).toBe(0);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    // the dict is 59 characters: 10 + 59 + 1 = 70 rounds up to 128, so 118 header bytes
    expect(length).toBe(118);
    expect(bytes.byteLength).toBe(128 + 6 * 4);
    expect(Array.from(new Float32Array(bytes.slice(128).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('spells one-element and empty shapes as Python does, and each dtype as NumPy does', () => {
    expect(header(writeNpy(new Tensor('int64', [1n, 2n, 3n], [3]))).text).toContain("'descr': '<i8', 'fortran_order': False, 'shape': (3,), }");
    expect(header(writeNpy(new Tensor('int32', [7], []))).text).toContain("'shape': (), }");
    const descr = { float16: '<f2', int8: '|i1', uint8: '|u1', bool: '|b1' } as const;
    for (const [dtype, d] of Object.entries(descr)) expect(header(writeNpy(Tensor.fromNumbers(dtype as keyof typeof descr, [1], [1]))).text).toContain(`'descr': '${d}'`);
    expect(() => writeNpy(Tensor.fromNumbers('bfloat16', [1], [1]))).toThrow(DataTypeError);
  });

  it('round-trips through readNpy', () => {
    for (const t of [new Tensor('float32', [0.5, -2], [1, 2]), new Tensor('int64', [5n, -6n], [2]), new Tensor('uint8', [1, 2, 3, 4, 5, 6], [1, 2, 3]), new Tensor('int32', [9], [])]) {
      const back = npyToTensor(readNpy(writeNpy(t), 't.npy'));
      expect(back.dtype).toBe(t.dtype);
      expect(back.dims).toEqual(t.dims);
      expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
  });
});

describe('readNpy', () => {
  it('refuses broken files with the reason', () => {
    const good = writeNpy(new Tensor('float32', [1, 2], [2]));
    expect(() => readNpy(new Uint8Array([1, 2, 3]), 'f.npy')).toThrow(/f\.npy is not a valid \.npy file: it does not start with/);
    const truncated = good.slice(0, good.byteLength - 1);
    expect(() => readNpy(truncated, 'f.npy')).toThrow(/needs 8 data bytes but the file has 7/);
    const longHeader = good.slice(0, 40);
    expect(() => readNpy(longHeader, 'f.npy')).toThrow(/the header claims 118 bytes but the file has 30/);
    const version = good.slice();
    version[6] = 9;
    expect(() => readNpy(version, 'f.npy')).toThrow(/format version 9\.0/);
    const text = new TextDecoder('latin1').decode(good).replace("'shape': (2,)", "'shape': (x,)");
    expect(() => readNpy(Uint8Array.from(text, (c) => c.charCodeAt(0)), 'f.npy')).toThrow(InvalidArgumentError);
  });

  it.skipIf(!hasNumpy)('reads what NumPy writes, and NumPy reads what it writes', () => {
    const f = join(dir, 'np.npy');
    python(`import numpy as np; np.save('${f}', np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 3)`);
    const t = npyToTensor(readNpy(readFileSync(f), f));
    expect(t.dtype).toBe('int32');
    expect(t.dims).toEqual([2, 3, 4]);
    expect(Array.from(t.data as Int32Array)).toEqual(Array.from({ length: 24 }, (_, i) => i * 3));

    // byte for byte what np.save writes
    python(`import numpy as np; np.save('${f}', np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))`);
    expect(Buffer.from(writeNpy(new Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]))).equals(readFileSync(f))).toBe(true);
    python(`import numpy as np; np.save('${f}', np.array([7, 8], dtype=np.int64))`);
    expect(Buffer.from(writeNpy(new Tensor('int64', [7n, 8n], [2]))).equals(readFileSync(f))).toBe(true);

    const ours = join(dir, 'ours.npy');
    writeFileSync(ours, writeNpy(new Tensor('float16', new Uint16Array([0x3c00, 0xc000, 0x3800]), [3, 1])));
    expect(python(`import numpy as np; a = np.load('${ours}'); print(a.dtype, a.shape, a.ravel().tolist())`).trim()).toBe('float16 (3, 1) [1.0, -2.0, 0.5]');
    for (const [code, error] of [
      ['np.zeros((2, 3), dtype=np.float64)', /NumPy dtype '<f8', which no tensor type here matches/],
      ['np.asfortranarray(np.zeros((2, 3), dtype=np.float32))', /Fortran order; save it in C order/],
      ['np.zeros(3, dtype=">f4")', /big-endian/],
    ] as const) {
      python(`import numpy as np; np.save('${f}', ${code})`);
      expect(() => readNpy(readFileSync(f), f)).toThrow(error);
    }
  });
});
