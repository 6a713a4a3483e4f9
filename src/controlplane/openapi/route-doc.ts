import type { z } from 'zod';

/**
 * A route's entry in the admin API reference, declared beside the route with its permission:
 * `{ config: requires('manage-gateways', { summary: 'Create a gateway', body: gatewayBody, status: 201 }) }`.
 * `body` and `query` are the very zod schemas the handler parses with, so the reference cannot
 * drift from what the route accepts.
 */
export interface RouteDoc {
  /** One line, imperative: "Create a gateway". */
  summary: string;
  /** More words, when the summary does not say it all (markdown). */
  description?: string;
  /** The JSON body the route parses (a zod schema). */
  body?: z.ZodType;
  /** The query string the route parses (a zod object schema). */
  query?: z.ZodType;
  /** The success status: 200 unless said (201 for creations, 204 for deletions without a body). */
  status?: 200 | 201 | 204;
  /** What a success answers, in words naming the type of api-types.ts: "the gateway (GatewayView)". */
  returns?: string;
}

/** What the reference needs of one registered route. */
export interface DocumentedRoute {
  method: string;
  /** The full path as fastify registered it, with `:param` placeholders. */
  url: string;
  permission: string | undefined;
  doc: RouteDoc | undefined;
}
