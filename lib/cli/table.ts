/** Plain-text tables for the commands' reports: columns padded to their widest cell. */

/** Rows of cells as lines, two spaces between columns, `indent` before each line; trailing blanks trimmed. */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `[1, 3, -1]` as "1x3x-1"; a scalar as "scalar". */
export function formatDims(dims: readonly (number | string)[] | undefined): string {
  if (dims === undefined) return 'unknown rank';
  return dims.length === 0 ? 'scalar' : dims.join('x');
}
