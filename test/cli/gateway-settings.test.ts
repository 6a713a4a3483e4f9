import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { runCli, runCliOk, SLOW } from '../support/cli.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

const table = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/ {2,}/));

/** `tollgate gateways create | update | show | projects` with the default project limit and CORS origins. */
describe('tollgate gateways: default project limit and CORS origins', () => {
  let gw: TestGateway;
  const ok = (args: string[], env?: Record<string, string | undefined>) => runCliOk(gw.url, args, env);
  const json = async (args: string[]) => JSON.parse(await ok([...args, '--json']));

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
  });
  afterAll(() => gw.close());

  it('sets, changes and removes the default project limit, and lists who runs under it', SLOW, async () => {
    const set = await ok(['gateways', 'update', 'gw1', '--default-tpm', '2000', '--default-quota', '50000', '--default-quota-period', 'daily']);
    expect(set).toContain('default project limit  2000 tokens/min, 50000 tokens daily');
    expect(expectStatus(await gw.admin('GET', '/gateways/gw1'), 200).defaultProjectLimit).toEqual({
      tokensPerMinute: 2000,
      tokenQuota: 50000,
      quotaPeriod: 'daily',
    });
    expect(table(await ok(['gateways', 'projects', 'gw1']))).toEqual([
      ['PROJECT', 'STATUS', 'LIMIT'],
      ['p1', 'enabled', 'default: 2000 tokens/min, 50000 tokens daily'],
    ]);

    // Flags not given keep their value; none clears one (the quota takes its period with it).
    expect((await json(['gateways', 'update', 'gw1', '--default-quota', 'none'])).defaultProjectLimit).toEqual({
      tokensPerMinute: 2000,
      tokenQuota: null,
      quotaPeriod: null,
    });
    expect((await json(['gateways', 'update', 'gw1', '--no-default-limit'])).defaultProjectLimit).toBeNull();
    expect(table(await ok(['gateways', 'projects', 'gw1']))[1]).toEqual(['p1', 'enabled', '-']);
  });

  it('sets and clears the CORS origins', SLOW, async () => {
    const set = await ok(['gateways', 'update', 'gw1', '--cors-origin', 'https://app.example.com', '--cors-origin', 'http://localhost:5173']);
    expect(set).toContain('CORS origins           https://app.example.com, http://localhost:5173');
    expect(await ok(['gateways', 'show', 'gw1'])).toContain('CORS origins           https://app.example.com, http://localhost:5173');
    expect((await json(['gateways', 'update', 'gw1', '--no-cors'])).corsOrigins).toEqual([]);

    expectStatus(await gw.admin('POST', '/resources', { name: 'r2' }), 201);
    expect(await json(['gateways', 'create', 'gw2', '--resource', 'r2', '--default-tpm', '100', '--cors-origin', 'https://x.example.com'])).toMatchObject({
      defaultProjectLimit: { tokensPerMinute: 100, tokenQuota: null, quotaPeriod: null },
      corsOrigins: ['https://x.example.com'],
    });
  });

  it('says what is wrong: a wildcard origin, contradicting flags, a role that may not', SLOW, async () => {
    const wildcard = await runCli(gw.url, ['gateways', 'update', 'gw1', '--cors-origin', '*']);
    expect(wildcard.code).toBe(1);
    expect(wildcard.stderr).toContain('bearer secrets');
    const both = await runCli(gw.url, ['gateways', 'update', 'gw1', '--no-default-limit', '--default-tpm', '5']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--no-default-limit removes the default limit');
    const nothing = await runCli(gw.url, ['gateways', 'update', 'gw1']);
    expect(nothing.stderr).toContain('nothing to update');

    const projectAdmin = expectStatus(await gw.admin('POST', '/tokens', { name: 'team', role: 'project-admin', resources: ['r1'] }), 201).token;
    const refused = await runCli(gw.url, ['gateways', 'update', 'gw1', '--default-tpm', '1000000'], { TOLLGATE_ADMIN_TOKEN: projectAdmin });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(forbidden)');
    expect(expectStatus(await gw.admin('GET', '/gateways/gw1'), 200).defaultProjectLimit).toBeNull();
  });
});
