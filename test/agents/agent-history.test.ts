import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { startHttpAgent, type TestHttpAgent } from './http-agent.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * History that stays (issue 21, point 4) holds for agent requests too: their ledger files a
 * gateway's rows under its id (as the MCP call ledger does), so a new gateway with a deleted one's
 * name starts empty.
 */
describe('agent logs of a gateway whose name is reused', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let agent: TestHttpAgent;

  beforeAll(async () => {
    agent = await startHttpAgent();
    gw = await startGateway();
    seeded = await seedBasic(gw);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await agent?.close();
  });

  async function agentLogs(): Promise<Array<Record<string, unknown>>> {
    return expectStatus(await gw.admin('GET', '/gateways/gw1/logs?kind=agent'), 200).items;
  }

  it('starts with no agent requests after the gateway is deleted and created again', async () => {
    const created = expectStatus(await gw.admin('POST', '/gateways/gw1/agents', { name: 'echo', project: 'p1', url: agent.url }), 201);
    expect((await fetch(`${created.proxyUrl}/hello`, { headers: { 'api-key': seeded.key } })).status).toBe(200);
    let before = await agentLogs();
    for (let i = 0; i < 100 && before.length === 0; i++) {
      await sleep(50);
      before = await agentLogs();
    }
    expect(before).toHaveLength(1);

    expect((await gw.admin('DELETE', '/gateways/gw1?disableProjects=true')).status).toBe(204);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 201);

    expect(await agentLogs()).toEqual([]);
  });
});
