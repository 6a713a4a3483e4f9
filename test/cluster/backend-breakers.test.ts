import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentBackendsView } from '../../src/controlplane/api-types.js';
import { startNode, uniquePrefix, within, type ClusterNode } from '../support/cluster.js';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { createTestDatabase } from '../support/postgres.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Two nodes of one instance: a backend tripped through one is skipped by the other within 1 s. */
describe('cluster: circuit breakers shared through Redis', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = uniquePrefix();
  const nodes: ClusterNode[] = [];
  let a: FakeUpstream;
  let b: FakeUpstream;
  let key = '';

  const ok = (label: string) => (req: { body?: { model?: string } }, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatCompletion(req.body?.model ?? 'm', `from ${label}`)));
  };

  beforeAll(async () => {
    // a asks for 30 s of peace on its first request, then answers.
    a = await startFakeUpstream(((req: { body?: { model?: string } }, res: ServerResponse) => {
      if (a.requests.length === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
        res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
        return;
      }
      ok('a')(req, res);
    }) as never);
    b = await startFakeUpstream(ok('b') as never);
    db = await createTestDatabase();
    const common = { databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: prefix, instance: 'pool-b' };
    nodes.push(await startNode(common));
    nodes.push(await startNode(common));
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/resources', { name: 'r1' })).status).toBe(201);
    const created = await n1.admin('POST', '/resources/r1/deployments', {
      name: 'pool',
      provider: 'openai-compatible',
      backends: [
        { name: 'a', upstreamUrl: `${a.url}/v1`, upstreamApiKey: 'sk-a' },
        { name: 'b', upstreamUrl: `${b.url}/v1`, upstreamApiKey: 'sk-b', priority: 2 },
      ],
    });
    expect(created.status).toBe(201);
    expect((await n1.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-b' } })).status).toBe(201);
    key = (await n1.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    await within(2000, async () => {
      const codes = await Promise.all(nodes.map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': key } }).then((r) => r.status)));
      return codes.every((c) => c === 200);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    await db?.drop();
    await Promise.all([a?.close(), b?.close()]);
  });

  const chat = (node: ClusterNode) =>
    new OpenAI({ baseURL: `${node.url}/openai/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: 'pool', messages: [{ role: 'user', content: 'hi' }] });

  it('a backend tripped by a 429 with Retry-After through node 1 is skipped by node 2 within 1 s', async () => {
    expect((await chat(nodes[0]!)).choices[0]!.message.content).toBe('from b'); // a said 429: tripped, b answered
    expect(a.requests).toHaveLength(1);
    const tripped = Date.now();
    // Node 2 has sent nothing to this pool yet: it learns of the trip from Redis.
    await within(1000, async () => {
      const view = (await nodes[1]!.admin('GET', '/resources/r1/deployments/pool/backends')).body as DeploymentBackendsView;
      return view.items[0]!.state === 'open';
    });
    expect(Date.now() - tripped).toBeLessThan(1000);
    for (let i = 0; i < 3; i++) expect((await chat(nodes[1]!)).choices[0]!.message.content).toBe('from b');
    expect(a.requests).toHaveLength(1);
    const view = (await nodes[1]!.admin('GET', '/resources/r1/deployments/pool/backends')).body as DeploymentBackendsView;
    expect(view.items.map((i) => [i.name, i.state, i.requests])).toEqual([
      ['a', 'open', 0],
      ['b', 'closed', 3],
    ]);
    expect(Date.parse(view.items[0]!.openUntil!)).toBeGreaterThan(tripped + 25_000);
  });
});
