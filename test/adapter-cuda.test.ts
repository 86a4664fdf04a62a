// The TensorRT adapter's CUDA-facing code (streams, device and pinned buffers, error checks)
// needs only the CUDA toolkit, which CI machines have: compile it for real, warnings as errors,
// and link it against libcudart so a wrong signature cannot hide. (The rest of the adapter
// needs TensorRT's headers: `npm run check:tensorrt`.)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const cuda = process.env.CUDA_PATH ?? '/usr/local/cuda';
const hasCuda = existsSync(join(cuda, 'include', 'cuda_runtime_api.h'));
const root = new URL('..', import.meta.url).pathname;

describe.skipIf(!hasCuda)('TensorRT adapter CUDA code against the CUDA toolkit', () => {
  it('compiles warning-free and links with libcudart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cuda-'));
    const main = join(dir, 'main.cc');
    // Touch every owner so the linker must resolve each CUDA call the adapter makes.
    writeFileSync(main, '#include "tensorrt/cuda_resources.h"\nint main() { return 0; }\n');
    const flags = ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-isystem', join(cuda, 'include'), '-I', join(root, 'native')];
    const out = join(dir, 'a.out');
    const lib = existsSync(join(cuda, 'lib64')) ? join(cuda, 'lib64') : join(cuda, 'lib');
    execFileSync('g++', [...flags, join(root, 'native/tensorrt/cuda_resources.cc'), join(root, 'native/backend/types.cc'), main, '-o', out, `-L${lib}`, '-lcudart'], { stdio: 'pipe' });
    expect(existsSync(out)).toBe(true);
  });
});
