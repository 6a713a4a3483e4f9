import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchivedGatewayView, LogPage, UsageReport } from '../../src/controlplane/api-types.js';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { runCliOk, SLOW } from '../support/cli.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'hello' }];

/**
 * History that stays (issue 21, point 4): usage and logs are filed under the gateway's id, so a
 * deleted gateway's history stays reachable (archived) and a new gateway of the same name starts empty.
 */
describe('a deleted gateway keeps its history; its name starts afresh', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let oldId: string;
  const requestIds: string[] = [];

  beforeAll(async () => {
    gw = await startGateway();
    seeded = await seedBasic(gw, { completionTokens: 3 });
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const { response } = await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 3 }).withResponse();
      requestIds.push(response.headers.get('x-request-id')!);
    }
    await gw.tollgate.ledger!.flush();
    oldId = (await gw.tollgate.store.findGateway('gw1'))!.id;
  });
  afterAll(() => gw.close());

  it('lists no archived gateway while none was deleted', async () => {
    expect(expectStatus(await gw.admin('GET', '/gateways?archived=true'), 200)).toEqual({ items: [] });
    expectError(await gw.admin('GET', '/gateways?archived=maybe'), 400, 'validation_failed');
  });

  it('archives the gateway on delete, its usage and logs reachable by its id', async () => {
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/projects/p1'), 200);
    expect((await gw.admin('DELETE', '/gateways/gw1')).status).toBe(204);
    const archived = (expectStatus(await gw.admin('GET', '/gateways?archived=true'), 200) as { items: ArchivedGatewayView[] }).items;
    expect(archived).toEqual([expect.objectContaining({ id: oldId, name: 'gw1', resource: 'r1' })]);
    expect(expectStatus(await gw.admin('GET', `/archived-gateways/${oldId}`), 200)).toEqual(archived[0]);

    const usage = expectStatus(await gw.admin('GET', `/archived-gateways/${oldId}/usage`), 200) as UsageReport;
    expect(usage).toMatchObject({ gateway: 'gw1', totals: { requests: { total: 2, ok: 2 } } });
    const logs = expectStatus(await gw.admin('GET', `/archived-gateways/${oldId}/logs`), 200) as LogPage;
    expect(logs.items.map((e) => e.requestId).sort()).toEqual([...requestIds].sort());
    expectError(await gw.admin('GET', '/archived-gateways/gw_none/usage'), 404, 'not_found');
  });

  it('tollgate gateways list --archived lists it, with its id', SLOW, async () => {
    const text = await runCliOk(gw.url, ['gateways', 'list', '--archived']);
    const [header, row] = text.trim().split('\n').map((line) => line.trim().split(/ {2,}/));
    expect(header).toEqual(['ID', 'NAME', 'RESOURCE', 'CREATED', 'DELETED']);
    expect(row!.slice(0, 3)).toEqual([oldId, 'gw1', 'r1']);
  });

  it('a new gateway with the reused name starts empty; its own traffic is its own', async () => {
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 201);
    expect((expectStatus(await gw.admin('GET', '/gateways/gw1/usage'), 200) as UsageReport).totals.requests.total).toBe(0);
    expect((expectStatus(await gw.admin('GET', '/gateways/gw1/logs'), 200) as LogPage).items).toEqual([]);

    expectStatus(await gw.admin('PUT', '/gateways/gw1/projects/p1'), 200);
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    // The new gateway's snapshot reaches the data plane within a second.
    for (let i = 0; i < 50; i++) {
      const ok = await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 3 }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await gw.tollgate.ledger!.flush();
    const fresh = (expectStatus(await gw.admin('GET', '/gateways/gw1/logs'), 200) as LogPage).items;
    expect(fresh).toHaveLength(1);
    expect(requestIds).not.toContain(fresh[0]!.requestId);
    // The old history is unchanged by the new gateway's traffic.
    expect((expectStatus(await gw.admin('GET', `/archived-gateways/${oldId}/usage`), 200) as UsageReport).totals.requests.total).toBe(2);
    const overview = expectStatus(await gw.admin('GET', '/usage'), 200) as { gateways: Array<{ name: string; requests: { total: number } }> };
    expect(overview.gateways.find((g) => g.name === 'gw1')?.requests.total).toBe(1);
  });
});
