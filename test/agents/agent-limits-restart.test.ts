import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway } from '../support/harness.js';
import { startHttpAgent, type TestHttpAgent } from './http-agent.js';

/** An embedded node's agent request quota survives a graceful restart (the limiter checkpoint keeps it). */
describe('agent limits across a restart', () => {
  let agent: TestHttpAgent;
  let dir: string;

  beforeAll(async () => {
    agent = await startHttpAgent();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-agent-limits-'));
  });
  afterAll(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a spent request quota stays spent after the node stops and starts again', async () => {
    const first = await startGateway({ dataDir: dir });
    const seeded = await seedBasic(first);
    expectStatus(await first.admin('POST', '/gateways/gw1/agents', { name: 'echo', project: 'p1', url: agent.url }), 201);
    expectStatus(await first.admin('POST', '/gateways/gw1/agent-limits', { agent: 'echo', project: 'p1', requestQuota: 2, quotaPeriod: 'yearly' }), 201);
    const call = (url: string) => fetch(`${url}/agents/echo/x`, { headers: { 'api-key': seeded.key } }).then((r) => r.status);
    expect([await call(first.url), await call(first.url)]).toEqual([200, 200]);
    await first.close();

    const second = await startGateway({ dataDir: dir });
    try {
      expect(await call(second.url)).toBe(403);
    } finally {
      await second.close();
    }
  }, 60_000);
});
