// The public types, as the package ships them: test/types/*.ts must compile against dist/*.d.ts
// with each `@ts-expect-error` line an error (TypeScript reports a directive with nothing to
// excuse), so the narrowing, the constructor's accepted data and the hidden internals are
// checked by the compiler rather than by hand.
import { describe, expect, it } from 'vitest';

import { assertDeclarationsFresh, compile } from './fixtures/typescript.js';

describe('public types', () => {
  it('compile as test/types expects', async () => {
    assertDeclarationsFresh();
    const { code, output } = await compile(['-p', 'test/types/tsconfig.json']);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
