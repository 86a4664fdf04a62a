// The CommonJS build behind the package's `require` condition: dist/cjs/, the same modules as
// dist/ (the ES module build, which tsc type-checks) turned into CommonJS one file at a time,
// so `require('tensorrt-node')` works on every Node version, not only those that can
// require() an ES module. The CLI stays ES-module only.
//
// Two things ES-module code has that CommonJS lacks are rewritten:
// - import.meta.url (where the addon loader starts looking for the package) becomes the
//   same URL built from __filename;
// - onnx-buf, an ES-module-only dependency, is loaded through dist/cjs/onnx-buf.cjs
//   (scripts/cjs/onnx-buf.cjs), which builds the same schemas from the installed package's
//   descriptor with @bufbuild/protobuf's CommonJS build.
//
// Usage: node scripts/build-cjs.mjs   (after tsc -p tsconfig.json)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');
const dist = join(root, 'dist');
const out = join(dist, 'cjs');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  // The declarations (copied from dist/) carry the documentation.
  removeComments: true,
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

const onnxBuf = join(out, 'onnx-buf.cjs');
copyFileSync(join(root, 'scripts', 'cjs', 'onnx-buf.cjs'), onnxBuf);

let files = 0;
for (const source of walk(lib)) {
  const rel = relative(lib, source);
  if (rel.startsWith(`cli${sep}`)) continue;
  const target = join(out, rel.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(target), { recursive: true });
  let code = transpile(readFileSync(source, 'utf8'), source)
    .replaceAll('import.meta.url', 'require("node:url").pathToFileURL(__filename).href')
    .replaceAll('require("onnx-buf")', `require(${JSON.stringify(toRequirePath(relative(dirname(target), onnxBuf)))})`);
  if (/import\.meta|require\("onnx-buf"\)/.test(code)) throw new Error(`${rel}: ES-module-only code left in the CommonJS build`);
  writeFileSync(target, code);
  // The declarations are the ES build's: the same API. Their onnx-buf types are read as from an
  // ES module (resolution-mode), which a CommonJS declaration may do only in a type import.
  const declaration = readFileSync(join(dist, rel.replace(/\.ts$/, '.d.ts')), 'utf8').replace(
    /^import (?:type )?\{([^}]*)\} from 'onnx-buf';$/gm,
    (_, names) => `import type {${names.replace(/\btype /g, '')}} from 'onnx-buf' with { 'resolution-mode': 'import' };`,
  );
  if (/from 'onnx-buf';|import\("onnx-buf"\)/.test(declaration)) throw new Error(`${rel}: an onnx-buf import the CommonJS declarations cannot read`);
  writeFileSync(target.replace(/\.js$/, '.d.ts'), declaration);
  files += 1;
}
console.log(`build-cjs: ${files} modules in ${relative(root, out)}`);

function transpile(code, fileName) {
  return ts.transpileModule(code, { compilerOptions, fileName }).outputText;
}

function toRequirePath(path) {
  const posix = path.split(sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield full;
  }
}
