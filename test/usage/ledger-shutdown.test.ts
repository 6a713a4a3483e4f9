import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/open-store.js';
import { seedBasic, startGateway } from '../support/harness.js';

const N = 300;
const CONCURRENCY = 32;
/** gw.close() is called when this many requests have been answered, with others in flight. */
const CLOSE_AFTER = 100;

/** What one request got: an HTTP answer (status, request id echoed) or a transport error. */
type Outcome = { kind: 'answered'; status: number; requestId: string | null; body: string } | { kind: 'failed'; error: string };

/**
 * A graceful stop under load: requests in flight finish within the grace period, and every one the
 * gateway answered is in the ledger afterwards (nothing is flushed by the timer: the final flush on
 * close writes them all). N answered in, N records out.
 */
describe('ledger on graceful shutdown', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-ledger-shutdown-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('writes one ledger entry per answered request, none lost', async () => {
    const startedMs = Date.now();
    const gw = await startGateway({ dataDir, ledgerFlushMs: 60_000, shutdownGraceMs: 10_000 });
    let closing: Promise<void> | null = null;
    try {
      const seeded = await seedBasic(gw, { latencyMs: 5, completionTokens: 5 });
      const body = JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'Shut down gently.' }], max_tokens: 5 });
      const url = `${gw.url}/openai/v1/chat/completions`;

      // What the server itself has in flight: requests it received (and routed) but not yet answered.
      const serverInFlight = new Set<string>();
      gw.tollgate.app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const id = String(req.headers['x-request-id']);
        serverInFlight.add(id);
        res.once('close', () => serverInFlight.delete(id));
      });

      const results: Outcome[] = new Array(N);
      let next = 0;
      let answered = 0;
      let inFlightAtClose: string[] = [];

      const send = async (i: number): Promise<Outcome> => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${seeded.key}`, 'content-type': 'application/json', 'x-request-id': `shutdown-${i}` },
            body,
          });
          return { kind: 'answered', status: res.status, requestId: res.headers.get('x-request-id'), body: await res.text() };
        } catch (err) {
          return { kind: 'failed', error: String((err as { cause?: unknown }).cause ?? err) };
        }
      };
      const worker = async () => {
        while (next < N) {
          const i = next++;
          const result = await send(i);
          results[i] = result;
          if (result.kind === 'answered' && result.status === 200) answered++;
          // Close under load: once enough were answered, at a moment the server is busy with others.
          if (closing === null && answered >= CLOSE_AFTER && serverInFlight.size > 0) {
            inFlightAtClose = [...serverInFlight];
            closing = gw.close();
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(closing, 'close() was never called with requests in flight').not.toBeNull();
      await closing;

      const done = results.filter((r): r is Extract<Outcome, { kind: 'answered' }> => r.kind === 'answered' && r.status === 200);
      // Anything else was refused because the server was closing: 503 on a kept-alive connection,
      // or a connection refused or reset before the server had read the request.
      const other = results.filter((r) => !(r.kind === 'answered' && r.status === 200));
      for (const r of other) {
        if (r.kind !== 'answered') continue;
        expect(r.status, r.body).toBe(503);
        expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'shutting_down', type: 'api_error' } });
      }
      expect(done.length + other.length).toBe(N);
      expect(done.length).toBeGreaterThanOrEqual(CLOSE_AFTER);
      expect(done.length).toBeLessThan(N);
      // Graceful: every request the server was handling when close() began was answered in full.
      expect(inFlightAtClose.length).toBeGreaterThan(0);
      const doneIds = new Set(done.map((r) => r.requestId));
      expect(inFlightAtClose.filter((id) => !doneIds.has(id))).toEqual([]);
      for (const r of done) expect(JSON.parse(r.body)).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 5 } });

      const store = openSqliteStore(dataDir);
      try {
        await store.migrate();
        const key = (await store.findGateway('gw1'))!.id;
        const logs = await store.usage.logs({ gateway: key, limit: 10_000 });
        expect(logs).toHaveLength(done.length);
        expect(logs.map((e) => e.requestId).sort()).toEqual(done.map((r) => r.requestId).sort());
        expect(logs.every((e) => e.outcome === 'ok' && e.status === 200 && e.project === 'p1' && e.deployment === 'sim-chat')).toBe(true);
        const tokens = logs.reduce((n, e) => n + e.totalTokens, 0);
        for (const interval of ['minute', 'hour', 'day'] as const) {
          const points = await store.usage.usage({ gateway: key, fromMs: startedMs - 1000, toMs: Date.now() + 1000, interval });
          expect(points.reduce((n, p) => n + p.requests.total, 0), interval).toBe(done.length);
          expect(points.reduce((n, p) => n + p.requests.ok, 0), interval).toBe(done.length);
          expect(points.reduce((n, p) => n + p.tokens.total, 0), interval).toBe(tokens);
        }
      } finally {
        await store.close();
      }
    } finally {
      await (closing ?? gw.close());
    }
  });
});
