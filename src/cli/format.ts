/** Human output of the CLI: aligned tables and `name: value` lines (`--json` prints the API's JSON). */
export type Cell = string | number | boolean | null | undefined;

export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))),
  );
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...text.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

export function fields(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...pairs.map(([name]) => name.length));
  return pairs
    .map(
      ([name, value]) =>
        `${`${name}:`.padEnd(width + 2)}${value === null || value === undefined ? '-' : String(value)}`,
    )
    .join('\n');
}

/** `created 3, updated 1` (zeros left out), or `none`. */
export function counts(record: Readonly<Record<string, number>> | undefined): string {
  const parts = Object.entries(record ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** A JSON value as a cell: strings, numbers and booleans as they are, anything else as JSON. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
