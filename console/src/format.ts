/**
 * Display formats: numbers with separators, times in the viewer's locale and time zone, always
 * naming the zone (quotas reset at UTC boundaries, so a reset time is shown in UTC).
 */

const number = new Intl.NumberFormat('en-US');

export const formatNumber = (n: number) => number.format(n);

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
}

export function formatTime(iso: string | number, withSeconds = true): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}), timeZoneName: 'short' });
}

/** A time in UTC, said so: "Dec 6, 00:00 UTC" (quota periods start at UTC boundaries). */
export function formatUtc(iso: string | number): string {
  return `${new Date(iso).toLocaleString('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })} UTC`;
}

/** The viewer's time zone, for a table header: "times in Europe/Berlin". */
export const viewerTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "in 42 s", "in 3 min", "in 5 h", "in 2 d" from now. */
export function formatIn(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  if (seconds < 90) return `in ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `in ${hours} h`;
  return `in ${Math.round(hours / 24)} d`;
}

export const OUTCOME_LABELS: Record<string, string> = {
  ok: 'OK',
  rate_limited: 'Rate limited (429)',
  quota_exceeded: 'Quota exceeded (403)',
  rejected: 'Rejected',
  upstream_error: 'Upstream error',
  client_aborted: 'Client aborted',
  never_fits: 'Never fits (429/403)',
};
