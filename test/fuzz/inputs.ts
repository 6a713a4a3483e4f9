import { prng } from '../support/prng.js';

/**
 * Hostile inputs for every data-plane path and admin route, made from valid seeds by mutations:
 * the committed corpus (test/fuzz/corpus.json) is a fixed sample of them, `npm run fuzz` draws many
 * more at random. Deterministic for a seed.
 */
export interface FuzzInput {
  /** What it is, for the report: the route and the mutation. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The raw body, exactly as sent (may be invalid JSON). */
  body?: string;
  contentType?: string;
  /** 'project' sends the project key, 'admin' the owner token. */
  auth: 'project' | 'admin';
}

interface Seed {
  route: string;
  method: FuzzInput['method'];
  path: string;
  auth: FuzzInput['auth'];
  body?: Record<string, unknown>;
}

/** Valid requests, one per route; names refer to what test/support seeds (r1, sim-chat, gw1, p1). */
export const SEEDS: Seed[] = [
  { route: 'chat', method: 'POST', path: '/openai/v1/chat/completions', auth: 'project', body: { model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 } },
  { route: 'chat-stream', method: 'POST', path: '/openai/v1/chat/completions', auth: 'project', body: { model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: false } } },
  { route: 'azure-chat', method: 'POST', path: '/openai/deployments/sim-chat/chat/completions?api-version=2024-10-21', auth: 'project', body: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 } },
  { route: 'completions', method: 'POST', path: '/openai/v1/completions', auth: 'project', body: { model: 'sim-chat', prompt: 'hi', max_tokens: 5 } },
  { route: 'embeddings', method: 'POST', path: '/openai/v1/embeddings', auth: 'project', body: { model: 'sim-chat', input: ['a', 'b'] } },
  { route: 'responses', method: 'POST', path: '/openai/v1/responses', auth: 'project', body: { model: 'sim-chat', input: 'hi', instructions: 'be brief', max_output_tokens: 16 } },
  { route: 'tools', method: 'POST', path: '/openai/v1/chat/completions', auth: 'project', body: { model: 'sim-chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } } }] } },
  { route: 'anthropic', method: 'POST', path: '/anthropic/v1/messages', auth: 'project', body: { model: 'sim-chat', max_tokens: 16, system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] } },
  { route: 'anthropic-count', method: 'POST', path: '/anthropic/v1/messages/count_tokens', auth: 'project', body: { model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }] } },
  { route: 'resources', method: 'POST', path: '/admin/v1/resources', auth: 'admin', body: { name: 'fz', description: 'fuzz' } },
  { route: 'deployments', method: 'POST', path: '/admin/v1/resources/r1/deployments', auth: 'admin', body: { name: 'fz-d', provider: 'simulated', options: { latencyMs: 0 } } },
  { route: 'deployment-patch', method: 'PATCH', path: '/admin/v1/resources/r1/deployments/sim-chat', auth: 'admin', body: { upstreamModel: 'x', defaultCompletionReservation: 64 } },
  { route: 'projects', method: 'POST', path: '/admin/v1/resources/r1/projects', auth: 'admin', body: { name: 'fz-p' } },
  { route: 'gateways', method: 'POST', path: '/admin/v1/gateways', auth: 'admin', body: { name: 'fz-g', resource: 'r1', instance: { mode: 'new' } } },
  { route: 'gateway-patch', method: 'PATCH', path: '/admin/v1/gateways/gw1', auth: 'admin', body: { logContent: false } },
  { route: 'limits', method: 'POST', path: '/admin/v1/gateways/gw1/limits', auth: 'admin', body: { project: 'p1', deployment: 'sim-chat', tokensPerMinute: 100_000, tokenQuota: 1_000_000, quotaPeriod: 'daily' } },
  { route: 'tokens', method: 'POST', path: '/admin/v1/tokens', auth: 'admin', body: { name: 'fz-t', role: 'viewer' } },
  { route: 'config', method: 'PUT', path: '/admin/v1/config?dryRun=true', auth: 'admin', body: { version: 1, resources: [{ name: 'r1', deployments: [], projects: [] }] } },
];

/** Query strings for the GET routes that take them. */
const QUERY_ROUTES = ['/admin/v1/gateways/gw1/usage', '/admin/v1/gateways/gw1/logs', '/admin/v1/audit'];
const HOSTILE_QUERIES = [
  'from=9000000000000000', 'from=-1', 'from=abc', 'to=1e400', 'from=2020-13-45T99:00:00Z', 'interval=week', 'interval=', 'limit=0', 'limit=100000',
  'limit=-5', 'cursor=%00%ff', 'cursor=' + 'z'.repeat(5000), 'groupBy=nothing', 'project=%E0%A4%A', 'outcome=ok&outcome=rejected', 'unknown=1', '%%%', 'from=1&from=2',
];

/** The seeded PRNG the fuzz draws with: the same seed draws the same inputs. */
export const random = prng;

const WEIRD_VALUES: unknown[] = [
  null, true, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', ' ', '\u0000', '\ud800', '💥'.repeat(1000), 'a'.repeat(70_000),
  [], [[[]]], {}, { __proto__: { admin: true } }, { constructor: { prototype: {} } }, ['x', 1, null], '9'.repeat(400),
];

type Json = unknown;

/** The paths of an object's fields (and array items), for mutating one of them. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = [...prefix, Array.isArray(value) ? Number(k) : k];
      out.push(p);
      paths(v, p, out);
    }
  }
  return out;
}

function setAt(root: Json, path: (string | number)[], value: unknown, remove = false): Json {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

const deepText = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

/** One mutation of a seed, drawn with `rand`. */
export function mutate(seed: Seed, rand: () => number): FuzzInput {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const base = { method: seed.method, path: seed.path, auth: seed.auth };
  const text = JSON.stringify(seed.body ?? {});
  const fieldPaths = paths(seed.body ?? {});
  const kind = pick(['field-value', 'field-value', 'field-remove', 'extra-field', 'truncate', 'not-json', 'not-object', 'deep', 'huge-array', 'content-type', 'empty', 'duplicate-keys'] as const);
  switch (kind) {
    case 'field-value': {
      const at = pick(fieldPaths);
      const value = pick(WEIRD_VALUES);
      return { ...base, name: `${seed.route}: ${at.join('.')} = ${describe(value)}`, body: JSON.stringify(setAt(seed.body, at, value)) };
    }
    case 'field-remove': {
      const at = pick(fieldPaths);
      return { ...base, name: `${seed.route}: without ${at.join('.')}`, body: JSON.stringify(setAt(seed.body, at, undefined, true)) };
    }
    case 'extra-field':
      return { ...base, name: `${seed.route}: an unknown field`, body: JSON.stringify({ ...seed.body, [pick(['__proto__', 'x', 'Model', 'stream_options', 'max_tokens'])]: pick(WEIRD_VALUES) }) };
    case 'truncate': {
      const cut = Math.floor(rand() * text.length);
      return { ...base, name: `${seed.route}: cut at ${cut}`, body: text.slice(0, cut) };
    }
    case 'not-json':
      return { ...base, name: `${seed.route}: not JSON`, body: pick(['{', 'null', 'nan', '\u0000\u0001', '{"a":1}}', "{'a':1}", '\ufeff{}', '<xml/>']) };
    case 'not-object':
      return { ...base, name: `${seed.route}: not an object`, body: pick(['[]', '1', '"text"', 'true', '[{}]']) };
    case 'deep': {
      const levels = pick([63, 65, 1000, 20_000]);
      return { ...base, name: `${seed.route}: ${levels} levels deep`, body: text.replace(/^\{/, `{"deep":${deepText(levels)},`) };
    }
    case 'huge-array':
      return { ...base, name: `${seed.route}: 100,000 items`, body: text.replace(/^\{/, `{"items":[${'0,'.repeat(99_999)}0],`) };
    case 'content-type':
      return { ...base, name: `${seed.route}: content-type text/plain`, body: text, contentType: 'text/plain' };
    case 'empty':
      return { ...base, name: `${seed.route}: empty body`, body: '' };
    case 'duplicate-keys':
      return { ...base, name: `${seed.route}: duplicate keys`, body: text.replace(/^\{/, '{"model":1,') };
  }
}

/** Inputs for the query strings of the GET routes. */
export function queryInputs(): FuzzInput[] {
  return QUERY_ROUTES.flatMap((path) => HOSTILE_QUERIES.map((q) => ({ name: `GET ${path}?${q.slice(0, 40)}`, method: 'GET' as const, path: `${path}?${q}`, auth: 'admin' as const })));
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 30 ? `${text.slice(0, 27)}…(${text.length})` : text;
}
