import { request, type Dispatcher } from 'undici';

/** The card's security scheme that asks A2A clients for the gateway key. */
export const GATEWAY_KEY_SCHEME = 'tollgateApiKey';

type Card = Record<string, unknown>;

/**
 * The agent's card as clients of the proxy must see it: every URL of the agent (`url`, the 0.3
 * `additionalInterfaces`, the 1.0 `supportedInterfaces`) points at the proxy, and the security
 * required is the gateway key in the `api-key` header, in both spellings (0.3 `security` /
 * OpenAPI-style schemes; 1.0 `securityRequirements` / `apiKeySecurityScheme`). The agent's own
 * schemes stay listed as well: its own Authorization still reaches it.
 */
export function rewriteCard(card: Card, agentUrl: string, proxyUrl: string): Card {
  const toProxy = (url: unknown): unknown => {
    if (typeof url !== 'string') return url;
    // An interface under the agent's URL keeps its sub-path under the proxy's.
    const base = agentUrl.replace(/\/+$/, '');
    if (url === base || url === `${base}/`) return proxyUrl;
    if (url.startsWith(`${base}/`)) return proxyUrl + url.slice(base.length);
    return proxyUrl;
  };
  const out: Card = { ...card };
  if ('url' in card) out.url = toProxy(card.url);
  for (const field of ['additionalInterfaces', 'supportedInterfaces'] as const) {
    const list = card[field];
    if (Array.isArray(list)) out[field] = list.map((i: unknown) => (typeof i === 'object' && i !== null ? { ...i, url: toProxy((i as Card).url) } : i));
  }
  const schemes = typeof card.securitySchemes === 'object' && card.securitySchemes !== null ? (card.securitySchemes as Card) : {};
  // A 0.3 card has a top-level url (and `security`); a 1.0 card has neither (its URLs are in supportedInterfaces).
  const v1 = typeof card.url !== 'string' && !Array.isArray(card.security);
  out.securitySchemes = {
    ...schemes,
    [GATEWAY_KEY_SCHEME]: v1
      ? { apiKeySecurityScheme: { location: 'header', name: 'api-key', description: 'Tollgate project key' } }
      : { type: 'apiKey', in: 'header', name: 'api-key', description: 'Tollgate project key' },
  };
  // Every requirement now also needs the gateway key; without any, the key alone.
  if (v1 || Array.isArray(card.securityRequirements)) {
    const reqs = Array.isArray(card.securityRequirements) ? (card.securityRequirements as Array<{ schemes?: Card }>) : [];
    out.securityRequirements =
      reqs.length === 0 ? [{ schemes: { [GATEWAY_KEY_SCHEME]: { list: [] } } }] : reqs.map((r) => ({ ...r, schemes: { ...(r.schemes ?? {}), [GATEWAY_KEY_SCHEME]: { list: [] } } }));
  }
  if (!v1) {
    const security = Array.isArray(card.security) ? (card.security as Card[]) : [];
    out.security = security.length === 0 ? [{ [GATEWAY_KEY_SCHEME]: [] }] : security.map((s) => ({ ...s, [GATEWAY_KEY_SCHEME]: [] }));
  }
  return out;
}

const MAX_CARD_BYTES = 1024 * 1024;

/** Fetches a card with bounded time and size; throws on anything but a 2xx JSON object. */
export async function fetchCard(url: string, dispatcher: Dispatcher, timeoutMs: number, headers: Record<string, string> = {}): Promise<Card> {
  const res = await request(url, { method: 'GET', dispatcher, headers: { accept: 'application/json', ...headers }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_CARD_BYTES) throw new Error(`the card at ${url} is larger than ${MAX_CARD_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`the card at ${url} answered ${res.statusCode}`);
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`the card at ${url} is not a JSON object`);
  return parsed as Card;
}
