import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TollgateError } from '../errors.js';
import { errorBody } from './error-body.js';

/** Where `npm run build:console` writes the app: the same path from src/server and dist/server. */
const DEFAULT_ROOT = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The Tollgate console has not been built</h1>
<p>The gateway and its admin API are running; only the web console is missing.
Build it with <code>npm run build:console</code> (or <code>npm run build</code>) and reload this page.</p>
</body></html>
`;

/** Sent with every console response. Styles may be inline (the charts set them); scripts never. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface ConsoleRoutesOptions {
  /** The built console (dist/console); overridable for tests. */
  root?: string;
}

/**
 * Serves the admin console (a single-page app) at /console/: files of the build as they are,
 * any other /console/ path as index.html so the app's own routes survive a reload.
 * Only routes under / and /console, with one onSend hook scoped to them (encapsulated): the data
 * plane is untouched.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions = {}): Promise<void> {
  const root = resolve(options.root ?? DEFAULT_ROOT);
  if (!(await isFileUnder(root, 'index.html'))) {
    app.log.warn({ root }, 'the console is not built: /console/ answers 503 until `npm run build:console` is run');
  }
  // The console holds an admin token in sessionStorage: no script but its own may run, no other
  // site may frame it, and no URL of it leaks in a Referer.
  app.addHook('onSend', async (request, reply) => {
    if (request.url === '/console' || request.url.startsWith('/console/')) reply.headers(CONSOLE_SECURITY_HEADERS);
  });
  // serve: false — only reply.sendFile; the routes below decide what each path answers.
  await app.register(fastifyStatic, { root, serve: false, suppressWarning: true });

  app.get('/', (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', (_request, reply) => reply.redirect('/console/', 302));
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => {
    const path = request.params['*'];
    if (path !== '' && (await isFileUnder(root, path))) {
      // Vite names built assets by content hash: they never change under the same name.
      return path.startsWith('assets/') ? reply.sendFile(path, { maxAge: '1y', immutable: true }) : reply.sendFile(path);
    }
    if (path.startsWith('assets/')) {
      // A missing script or stylesheet must fail as such, not load the app's HTML in its place.
      const error = new TollgateError('route_not_found', `No console asset ${path}.`);
      return reply.code(404).send(errorBody(error));
    }
    return sendIndex(root, reply);
  });
}

async function sendIndex(root: string, reply: FastifyReply) {
  if (!(await isFileUnder(root, 'index.html'))) {
    return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT_PAGE);
  }
  // Always revalidated: it names the current build's assets.
  return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
}

async function isFileUnder(root: string, relative: string): Promise<boolean> {
  const full = resolve(root, relative);
  if (!full.startsWith(root + sep)) return false;
  try {
    return (await stat(full)).isFile();
  } catch {
    return false;
  }
}
