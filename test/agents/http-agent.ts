import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestHttpAgent {
  /** The agent's base URL (it lives under /base). */
  url: string;
  seen: SeenRequest[];
  /** Event streams whose client connection closed before the stream ended. */
  readonly streamsCutShort: number;
  /** Releases the next event of a GET /base/events stream. */
  step(): void;
  close(): Promise<void>;
}

/**
 * A plain HTTP agent on node:http, port 0, under `/base`: `/base/events` streams three SSE
 * events, each only after the test calls step(); anything else echoes method, URL, headers and
 * body as JSON (status from `?status=`).
 */
export async function startHttpAgent(): Promise<TestHttpAgent> {
  const seen: SeenRequest[] = [];
  let cutShort = 0;
  let released = 0;
  let waiting: (() => void) | null = null;
  const nextStep = () =>
    released > 0
      ? (released--, Promise.resolve())
      : new Promise<void>((resolve) => {
          waiting = resolve;
        });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(record);
      if (req.url?.startsWith('/base/events')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        res.once('close', () => {
          if (!res.writableFinished) cutShort++;
        });
        void (async () => {
          for (let i = 1; i <= 3; i++) {
            await nextStep();
            res.write(`event: step\ndata: {"n":${i}}\n\n`);
          }
          res.end();
        })();
        return;
      }
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.writeHead(status, { 'content-type': 'application/json', 'x-agent': 'echo' });
      res.end(JSON.stringify(record));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`,
    seen,
    get streamsCutShort() {
      return cutShort;
    },
    step: () => {
      const w = waiting;
      waiting = null;
      if (w) w();
      else released++;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
