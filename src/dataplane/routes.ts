import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../errors.js';
import type { Operation } from '../providers/provider.js';
import { authenticateProject } from './authenticate.js';
import { proxy, type DataPlaneDeps } from './proxy.js';

const OPENAI_PATHS: Record<string, Operation> = {
  '/openai/v1/chat/completions': 'chat.completions',
  '/openai/v1/completions': 'completions',
  '/openai/v1/embeddings': 'embeddings',
  '/openai/v1/responses': 'responses',
};

const AZURE_PATHS: Record<string, Operation> = {
  '/openai/deployments/:deployment/chat/completions': 'chat.completions',
  '/openai/deployments/:deployment/completions': 'completions',
  '/openai/deployments/:deployment/embeddings': 'embeddings',
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The request body as received (data plane only). */
    rawBody?: string;
  }
}

/** The data plane: OpenAI-style and Azure-OpenAI-style endpoints, as the official SDKs call them. */
export async function dataPlaneRoutes(app: FastifyInstance, deps: DataPlaneDeps): Promise<void> {
  // Clients of these APIs send JSON; accept it whatever Content-Type a hand-written curl sets.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    try {
      const parsed: unknown = JSON.parse(body as string);
      // Kept so an unchanged body can be forwarded as received, without serialising it again.
      request.rawBody = body as string;
      done(null, parsed);
    } catch {
      done(new TollgateError('invalid_request', 'The request body is not valid JSON.'), undefined);
    }
  });

  for (const [path, operation] of Object.entries(OPENAI_PATHS)) {
    app.post(path, (request, reply) => proxy(deps, { operation, deploymentFromPath: false }, request, reply));
  }
  for (const [path, operation] of Object.entries(AZURE_PATHS)) {
    app.post(path, (request, reply) => proxy(deps, { operation, deploymentFromPath: true }, request, reply));
  }

  app.get('/openai/v1/models', async (request) => {
    const project = authenticateProject(deps.snapshots.current, request.headers);
    return {
      object: 'list',
      data: [...project.deployments.values()].map((d) => ({ id: d.name, object: 'model', created: 0, owned_by: d.provider })),
    };
  });
}
