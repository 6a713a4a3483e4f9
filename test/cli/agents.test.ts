import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { runCliOk, SLOW } from '../support/cli.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** `tollgate agents …` and `tollgate agent-limits …` against a running gateway. */
describe('tollgate agents', () => {
  let gw: TestGateway;
  const ok = (args: string[]) => runCliOk(gw.url, args);
  const json = async (args: string[]) => JSON.parse(await ok([...args, '--json']));

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
    expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 201);
  });
  afterAll(() => gw.close());

  it('registers, lists, grants, blocks and unblocks, limits and deletes', SLOW, async () => {
    const created = await json(['agents', 'create', 'helper', '-g', 'gw1', '--project', 'p1', '--agent-url', 'http://127.0.0.1:9/a', '--protocol', 'a2a', '--otel-agent-id', 'o-1']);
    expect(created).toMatchObject({ name: 'helper', protocol: 'a2a', otelAgentId: 'o-1', proxyUrl: `${gw.url}/agents/helper` });
    expect(await ok(['agents', 'list', '-g', 'gw1'])).toContain(`${gw.url}/agents/helper`);
    expect((await json(['agents', 'grant', 'helper', 'p2', '-g', 'gw1'])).projects).toEqual(['p2']);
    expect((await json(['agents', 'block', 'helper', '-g', 'gw1'])).status).toBe('blocked');
    expect((await json(['agents', 'unblock', 'helper', '-g', 'gw1'])).status).not.toBe('blocked');
    expect((await json(['agents', 'update', 'helper', '-g', 'gw1', '--description', 'helps'])).description).toBe('helps');
    expect((await json(['agents', 'revoke', 'helper', 'p2', '-g', 'gw1'])).projects).toEqual([]);

    const limit = await json(['agent-limits', 'create', '-g', 'gw1', '--agent', 'helper', '--project', 'p1', '--rpm', '10']);
    expect(limit).toMatchObject({ agent: 'helper', project: 'p1', requestsPerMinute: 10 });
    expect(await json(['agent-limits', 'update', limit.id, '-g', 'gw1', '--quota', '100', '--period', 'daily'])).toMatchObject({ requestQuota: 100, quotaPeriod: 'daily' });
    expect(await ok(['agent-limits', 'list', '-g', 'gw1'])).toContain(limit.id);
    await ok(['agent-limits', 'delete', limit.id, '-g', 'gw1']);
    expect((await json(['agents', 'logs', '-g', 'gw1'])).items).toEqual([]);
    expect(await ok(['agents', 'delete', 'helper', '-g', 'gw1'])).toContain('deleted agent "helper"');
    expect((await json(['agents', 'list', '-g', 'gw1'])).items).toEqual([]);
  });
});
