import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliOk, SLOW, type Run } from '../support/cli.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

let gw: TestGateway;
const tollgate = (args: string[]): Promise<Run> => runCli(gw.url, args);
const ok = (args: string[]): Promise<string> => runCliOk(gw.url, args);

beforeAll(async () => {
  gw = await startGateway();
  await seedBasic(gw);
});
afterAll(async () => {
  await gw?.close();
});

describe('clean-up from the CLI', () => {
  it('gateways delete names --disable-projects when projects are enabled, and --disable-projects deletes in one step', SLOW, async () => {
    const refused = await tollgate(['gateways', 'delete', 'gw1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--disable-projects');

    expect(await ok(['gateways', 'delete', 'gw1', '--disable-projects'])).toBe('deleted gateway "gw1" and disabled its projects "p1"\n');
    const projects = (await gw.admin('GET', '/resources/r1/projects')).body as { items: { name: string; gatewayStatus: string }[] };
    expect(projects.items.map((p) => p.gatewayStatus)).toEqual(['disabled']);
  });

  it('instances delete removes an instance that backs no gateway, and refuses one that does', SLOW, async () => {
    // gw1's instance backs nothing since the gateway went.
    expect(await ok(['instances', 'delete', 'gw1'])).toBe('deleted instance "gw1"\n');
    await gw.admin('POST', '/gateways', { name: 'gw2', resource: 'r1', instance: { mode: 'new' } });
    const refused = await tollgate(['instances', 'delete', 'gw2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('backs gateway "gw2"');
    expect(await ok(['instances', 'list'])).not.toMatch(/^gw1 /m);
  });

  it('limits are named by project and deployment as well as by id; the audit log shows old → new values', SLOW, async () => {
    await gw.admin('POST', '/gateways/gw2/limits', { project: 'p1', tokensPerMinute: 5000 });
    await gw.admin('POST', '/gateways/gw2/limits', { project: 'p1', deployment: 'sim-chat', tokenQuota: 900, quotaPeriod: 'daily' });
    expect(await ok(['limits', 'update', '--gateway', 'gw2', '--project', 'p1', '--tpm', '6000'])).toMatch(/p1 +\(all\) +6000/);
    expect(await ok(['limits', 'show', '--gateway', 'gw2', '--project', 'p1', '--deployment', 'sim-chat'])).toMatch(/p1 +sim-chat +- +900 +daily/);
    expect(await ok(['limits', 'delete', '--gateway', 'gw2', '--project', 'p1', '--deployment', 'sim-chat'])).toBe(
      'deleted limit of project "p1" for deployment "sim-chat" from gateway "gw2"\n',
    );
    const unnamed = await tollgate(['limits', 'delete', '--gateway', 'gw2']);
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toContain('name the limit: its id (tollgate limits list), or --project <name> [--deployment <name>]');
    const audit = await ok(['audit', '-n', '5']);
    expect(audit).toContain('tokensPerMinute 5000 → 6000');
    expect(audit).toContain('tokenQuota was 900');
  });
});
