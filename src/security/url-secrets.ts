/** What stands for a credential in a redacted URL. */
export const REDACTED = '***';

/**
 * Whether a URL carries credentials: a user or password (`https://user:pass@host`) or a query
 * string (`?key=…`; every parameter is taken for one, as the gateway cannot tell which are).
 */
export function hasUrlSecrets(url: string): boolean {
  const parsed = parse(url);
  return parsed !== null && (parsed.username !== '' || parsed.password !== '' || parsed.search !== '');
}

/** The URL with its credentials replaced by `***`: what admins, logs and exports see. */
export function redactUrl(url: string): string {
  const parsed = parse(url);
  if (parsed === null) return url;
  if (parsed.username !== '') parsed.username = REDACTED;
  if (parsed.password !== '') parsed.password = REDACTED;
  if (parsed.search !== '') {
    const names = [...new Set([...parsed.searchParams.keys()])];
    parsed.search = names.map((n) => `${encodeURIComponent(n)}=${REDACTED}`).join('&');
  }
  return parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}

/** Whether a URL is a redacted one (it carries `***` where credentials were): it cannot reach an upstream. */
export function isRedactedUrl(url: string): boolean {
  const parsed = parse(url);
  if (parsed === null) return false;
  const star = encodeURIComponent(REDACTED);
  return [parsed.username, parsed.password, ...parsed.searchParams.values()].some((v) => v === REDACTED || v === star);
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
