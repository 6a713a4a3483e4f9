import type { LogEntry } from '../api-types';

/** The columns of a CSV export of the request log: what the table shows, and what its details add. */
const COLUMNS: Array<[string, (e: LogEntry) => string | number | boolean | null]> = [
  ['time', (e) => e.time],
  ['requestId', (e) => e.requestId],
  ['project', (e) => e.project],
  ['deployment', (e) => e.deployment],
  ['operation', (e) => e.operation],
  ['stream', (e) => e.stream],
  ['backend', (e) => e.backend],
  ['status', (e) => e.status],
  ['outcome', (e) => e.outcome],
  ['errorCode', (e) => e.errorCode],
  ['promptTokens', (e) => e.tokens.prompt],
  ['completionTokens', (e) => e.tokens.completion],
  ['totalTokens', (e) => e.tokens.total],
  ['reservedTokens', (e) => e.reservedTokens],
  ['maxTokensCapped', (e) => e.maxTokensCapped],
  ['limitId', (e) => e.refusal?.limitId ?? null],
  ['limitScope', (e) => e.refusal?.scope ?? null],
  ['limitKind', (e) => e.refusal?.kind ?? null],
  ['limitRemaining', (e) => e.refusal?.remaining ?? null],
  ['latencyMs', (e) => e.latencyMs],
  ['upstreamMs', (e) => e.upstreamMs],
  ['message', (e) => e.message],
];

/** RFC 4180 CSV of log entries: a header row, then one row per entry. */
export function logsCsv(entries: readonly LogEntry[]): string {
  const rows = [COLUMNS.map(([name]) => name), ...entries.map((e) => COLUMNS.map(([, value]) => value(e)))];
  return rows.map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

function cell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Offers the text as a file download. */
export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}
