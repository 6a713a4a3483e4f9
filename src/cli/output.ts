/** Output of the admin commands: aligned plain-text tables for people, the API's JSON for scripts. */

export interface Column<T> {
  /** Printed upper-case. */
  header: string;
  value: (row: T) => unknown;
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** One cell: `-` for nothing; API data never breaks a row or reaches the terminal as control codes. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

/** ISO timestamps to the second: the milliseconds only widen the table. */
export function when(iso: unknown): string {
  return typeof iso === 'string' ? iso.replace(/\.\d+Z$/, 'Z') : cell(iso);
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const grid = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => cell(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i]!.length)));
  return grid.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** A list answer: the JSON as is, a table, or a hint on how to create the first item. */
export function printList<T>(json: boolean | undefined, body: { items: T[] }, columns: readonly Column<T>[], emptyHint: string): void {
  if (json) printJson(body);
  else if (body.items.length === 0) out(emptyHint);
  else out(formatTable(body.items, columns));
}
