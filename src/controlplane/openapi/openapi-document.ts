import { z } from 'zod';
import { ERROR_CATALOG } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { DocumentedRoute } from './route-doc.js';

/** What each path parameter of the admin API names. */
const PATH_PARAMS: Readonly<Record<string, string>> = {
  r: 'Resource name.',
  d: 'Deployment name.',
  p: 'Project name.',
  g: 'Gateway name.',
  slot: 'Key slot: `primary` or `secondary`.',
  name: 'Instance name.',
  deployment: 'Deployment name.',
};

type JsonSchema = Record<string, unknown>;

/** A zod schema as the JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a client sends. */
function inputSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function pathParamDescription(name: string, url: string): string {
  if (name === 'id') return url.includes('/tokens/') ? 'Admin token id.' : 'Limit id.';
  return PATH_PARAMS[name] ?? `The ${name}.`;
}

/**
 * The admin API reference as an OpenAPI 3.1 document, built from the registered routes: their
 * paths, methods and permissions as fastify holds them, and the zod schemas they parse with.
 * A route without a `doc` still appears (with a summary saying so); a test requires a doc on each.
 */
export function openApiDocument(routes: readonly DocumentedRoute[], prefix: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const local = route.url.startsWith(prefix) ? route.url.slice(prefix.length) : route.url;
    const path = local.replace(/:([A-Za-z0-9_]+)/g, '{$1}') || '/';
    const doc = route.doc;
    const parameters: unknown[] = [...local.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      description: pathParamDescription(m[1]!, local),
      schema: { type: 'string' },
    }));
    if (doc?.query) {
      const query = inputSchema(doc.query);
      const properties = (query.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((query.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(properties)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: required.has(name) && !('default' in schema), ...(description ? { description } : {}), schema: rest });
      }
    }
    const status = String(doc?.status ?? 200);
    const operation: Record<string, unknown> = {
      operationId: operationId(route.method, local),
      summary: doc?.summary ?? 'Undocumented route',
      ...(doc?.description ? { description: doc.description } : {}),
      tags: [local.split('/')[1] || 'api'],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc?.body ? { requestBody: { required: true, content: { 'application/json': { schema: inputSchema(doc.body) } } } } : {}),
      responses: {
        [status]: status === '204' ? { description: doc?.returns ?? 'Done; no body.' } : { description: doc?.returns ?? 'Success.', content: { 'application/json': { schema: {} } } },
        default: { $ref: '#/components/responses/Error' },
      },
      'x-permission': route.permission ?? 'none (refused)',
      ...(route.permission === 'public' ? { security: [] } : {}),
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tollgate admin API',
      version: VERSION,
      description:
        'The control plane of Tollgate under /admin/v1: JSON, bearer admin tokens, a role check on every route ' +
        '(`x-permission` names what the route requires; docs/admin-api.md says which role holds it). ' +
        'Errors answer `{"error": {"code", "message", "type", "param"}}` with the codes of docs/errors.md.',
    },
    servers: [{ url: prefix }],
    security: [{ adminToken: [] }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'An admin token (tga_…), see docs/admin-api.md.' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
                message: { type: 'string', description: 'What went wrong, in words a person can act on.' },
                type: { type: 'string' },
                param: { type: ['string', 'null'], description: 'The request field at fault, if one is.' },
              },
            },
          },
        },
      },
      responses: {
        Error: { description: 'A refusal or failure; `error.code` is stable (docs/errors.md).', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    },
  };
}

/** `GET /gateways/:g/limits` → `get_gateways_g_limits`: unique per method and path. */
function operationId(method: string, path: string): string {
  return `${method.toLowerCase()}${path.replace(/[/:{}-]+/g, '_').replace(/_+$/, '')}`;
}
