// What the package's compiled output tells its users in comments: every {@link} in a
// declaration file names something that file declares or imports, and every file a comment
// points at (a header, a source file, a Markdown document) is in the published package, so no
// reference leads to a file the user does not have.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { assertDeclarationsFresh, root } from './fixtures/typescript.js';

const dist = join(root, 'dist');
// dist/cjs/ is the CommonJS twin of dist/, with the same declarations: it is reported under the
// name of its dist/ file, so KNOWN covers both.
const label = (file: string): string => relative(root, file).replace(/^dist\/cjs\//, 'dist/');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The text of a file's comments (block and line), where documentation lives. */
function comments(source: string): string {
  return [...source.matchAll(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g)].map((m) => m[0]).join('\n');
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
const shippedPrefixes = pkg.files.filter((f) => !f.startsWith('!'));
// npm always packs these beside `files`.
const alwaysShipped = /^(README|LICENSE|LICENCE|CHANGELOG)(\.\w+)?$/i;
const isShipped = (path: string): boolean =>
  alwaysShipped.test(path) || (existsSync(join(root, path)) && shippedPrefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));

/**
 * References known to point outside the package, in files this suite does not own the wording
 * of; each must still be there (the test says when one is fixed, so the entry goes).
 */
const KNOWN: { file: string; reference: string }[] = [];
const known = KNOWN.map((k) => `${k.file}: ${k.reference}`);

/** Checks `found` against KNOWN: nothing new, and nothing listed that is gone. */
function expectOnlyKnown(found: string[], kind: (entry: string) => boolean): void {
  expect(found.filter((f) => !known.includes(f))).toEqual([]);
  expect(known.filter((k) => kind(k) && !found.includes(k)), 'fixed: remove from KNOWN').toEqual([]);
}

describe('compiled output', () => {
  let outputs: string[];
  beforeAll(() => {
    assertDeclarationsFresh();
    outputs = filesUnder(dist).filter((f) => /\.(d\.ts|js)$/.test(f));
  });

  it('links only to names the declaration file declares or imports', () => {
    const unresolved: string[] = [];
    for (const file of outputs.filter((f) => f.endsWith('.d.ts'))) {
      const source = readFileSync(file, 'utf8');
      for (const [, name] of comments(source).matchAll(/\{@link\s+([A-Za-z_$][\w$]*)/g)) {
        const declared = new RegExp(`\\b(class|interface|type|function|const|let|enum|namespace)\\s+${name}\\b`).test(source);
        const imported = new RegExp(`import[^;]*\\b${name}\\b[^;]*from`).test(source);
        if (!declared && !imported) unresolved.push(`${label(file)}: {@link ${name}}`);
      }
    }
    expectOnlyKnown(unresolved, (k) => k.includes('{@link'));
  });

  it('points only at files the package ships', () => {
    const outside: string[] = [];
    for (const file of outputs) {
      const text = comments(readFileSync(file, 'utf8'));
      const paths = text.match(/(?<![\w./-])(?:[\w-]+\/)+[\w.-]+\.(?:h|hpp|cc|cpp|ts|mts|mjs|cjs|js|json)\b|(?<![\w./-])[\w-]+\.md\b/g) ?? [];
      for (const path of new Set(paths)) {
        // Relative to the file itself (sibling modules) or to the package root.
        const fromHere = relative(root, join(file, '..', path));
        if (!isShipped(path) && !(existsSync(join(root, fromHere)) && isShipped(fromHere))) outside.push(`${label(file)}: ${path}`);
      }
    }
    expectOnlyKnown(outside, (k) => !k.includes('{@link'));
  });
});
