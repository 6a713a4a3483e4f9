/**
 * Browser origins a gateway lets call its data plane (CORS). An origin is exactly what a browser
 * sends in its `Origin` header: `scheme://host[:port]`, lowercase, without the scheme's default
 * port, and nothing after it. Origins are stored in that form, so the data plane compares the
 * header with one Set lookup.
 */

export const MAX_CORS_ORIGINS = 100;

const SHAPE = /^https?:\/\/[^/?#@\s\\]+$/i;

export const ORIGIN_RULE = 'an origin is scheme://host[:port] with no path, query or trailing slash, e.g. https://app.example.com';

/** The origin in the form browsers send it, or why `text` is not one. */
export function parseOrigin(text: string): { origin: string } | { problem: string } {
  if (text.includes('*')) {
    return {
      problem: `"${text}": wildcards are not allowed — project keys are bearer secrets, so list each origin whose pages may use them (${ORIGIN_RULE})`,
    };
  }
  if (!SHAPE.test(text)) return { problem: `"${text}" is not an origin: ${ORIGIN_RULE} (http or https)` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `"${text}" is not an origin: ${ORIGIN_RULE}` };
  }
  return { origin: url.origin };
}
