import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { runCliOk, SLOW } from '../support/cli.js';
import { startGateway, type TestGateway } from '../support/harness.js';

/** A gateway's default project limit and CORS origins in the config file: plan, apply, export. */
function document(gateway: Record<string, unknown> = {}) {
  return {
    version: 1,
    resources: [{ name: 'web', deployments: [{ name: 'sim', provider: 'simulated' }], projects: ['spa'] }],
    gateways: [
      {
        name: 'web-gw',
        resource: 'web',
        projects: ['spa'],
        defaultProjectLimit: { tokensPerMinute: 20_000, tokenQuota: 1_000_000, quotaPeriod: 'monthly' },
        corsOrigins: ['https://app.example.com'],
        ...gateway,
      },
    ],
  };
}

describe('config file: gateway default project limit and CORS origins', () => {
  let gw: TestGateway;
  let dir: string;
  const apply = (doc: unknown, query = '') => gw.admin('PUT', `/config${query}`, doc);

  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-gw-settings-'));
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a gateway with both, and its export applies back as no change', async () => {
    expectStatus(await apply(document()), 200);
    const gateway = expectStatus(await gw.admin('GET', '/gateways/web-gw'), 200);
    expect(gateway).toMatchObject({
      defaultProjectLimit: { tokensPerMinute: 20_000, tokenQuota: 1_000_000, quotaPeriod: 'monthly' },
      corsOrigins: ['https://app.example.com'],
    });
    const exported = expectStatus(await gw.admin('GET', '/config'), 200);
    expect(exported.gateways[0]).toMatchObject({
      defaultProjectLimit: { tokensPerMinute: 20_000, tokenQuota: 1_000_000, quotaPeriod: 'monthly' },
      corsOrigins: ['https://app.example.com'],
    });
    expect(expectStatus(await apply(exported), 200).changes).toEqual([]);
    expect(expectStatus(await apply(exported, '?prune=true'), 200).changes).toEqual([]);
    expect(expectStatus(await apply(document()), 200).changes).toEqual([]);
  });

  it('plans a change of either as a gateway update naming the field, and makes it', async () => {
    const changed = document({ defaultProjectLimit: { tokensPerMinute: 5000 }, corsOrigins: ['https://app.example.com', 'http://localhost:5173'] });
    const dry = expectStatus(await apply(changed, '?dryRun=true'), 200);
    expect(dry.changes).toEqual([
      {
        action: 'update',
        kind: 'gateway',
        target: 'gateways/web-gw',
        fields: ['defaultProjectLimit', 'corsOrigins'],
        from: { defaultProjectLimit: { tokensPerMinute: 20_000, tokenQuota: 1_000_000, quotaPeriod: 'monthly' }, corsOrigins: ['https://app.example.com'] },
        to: { defaultProjectLimit: { tokensPerMinute: 5000, tokenQuota: null, quotaPeriod: null }, corsOrigins: ['https://app.example.com', 'http://localhost:5173'] },
      },
    ]);
    expect(expectStatus(await gw.admin('GET', '/gateways/web-gw'), 200).corsOrigins).toEqual(['https://app.example.com']);

    expect(expectStatus(await apply(changed), 200).changes).toEqual(dry.changes);
    // The document states the whole default: its quota, left out, is gone.
    expect(expectStatus(await gw.admin('GET', '/gateways/web-gw'), 200)).toMatchObject({
      defaultProjectLimit: { tokensPerMinute: 5000, tokenQuota: null, quotaPeriod: null },
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
    });

    // Left out of the document: none (a file says everything about what it names).
    const bare = document();
    delete (bare.gateways[0] as Record<string, unknown>).defaultProjectLimit;
    delete (bare.gateways[0] as Record<string, unknown>).corsOrigins;
    expect(expectStatus(await apply(bare), 200).changes).toMatchObject([
      { action: 'update', kind: 'gateway', target: 'gateways/web-gw', fields: ['defaultProjectLimit', 'corsOrigins'], to: { defaultProjectLimit: null, corsOrigins: [] } },
    ]);
    expect(expectStatus(await gw.admin('GET', '/gateways/web-gw'), 200)).toMatchObject({ defaultProjectLimit: null, corsOrigins: [] });
    const exported = expectStatus(await gw.admin('GET', '/config'), 200);
    expect(exported.gateways[0]).not.toHaveProperty('defaultProjectLimit');
    expect(exported.gateways[0]).not.toHaveProperty('corsOrigins');
  });

  it('refuses a document with a bad default or origin, changing nothing', async () => {
    const noPeriod = expectError(await apply(document({ defaultProjectLimit: { tokenQuota: 5 } })), 400, 'validation_failed');
    expect(noPeriod).toContain('gateway "web-gw", defaultProjectLimit: quotaPeriod is required with tokenQuota');
    const wildcard = expectError(await apply(document({ corsOrigins: ['*'] })), 400, 'validation_failed');
    expect(wildcard).toMatch(/^gateways\.0\.corsOrigins\.0: .*bearer secrets/);
    expect(expectStatus(await gw.admin('GET', '/gateways/web-gw'), 200)).toMatchObject({ defaultProjectLimit: null, corsOrigins: [] });
  });

  it('round-trips through a YAML file with the CLI', SLOW, async () => {
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'resources:',
        '  - name: web',
        '    deployments: [{ name: sim, provider: simulated }]',
        '    projects: [spa]',
        'gateways:',
        '  - name: web-gw',
        '    resource: web',
        '    projects: [spa]',
        '    defaultProjectLimit:',
        '      tokenQuota: 250000',
        '      quotaPeriod: daily',
        '    corsOrigins:',
        '      - https://app.example.com',
        '',
      ].join('\n'),
    );
    expect(await runCliOk(gw.url, ['config', 'apply', '-f', file])).toContain(
      '~ update  gateways/web-gw (defaultProjectLimit: none → {"tokensPerMinute":null,"tokenQuota":250000,"quotaPeriod":"daily"}, corsOrigins: [] → ["https://app.example.com"])',
    );
    const out = join(dir, 'exported.yaml');
    await runCliOk(gw.url, ['config', 'export', '-o', out]);
    const exported = parse(readFileSync(out, 'utf8'));
    expect(exported.gateways[0]).toMatchObject({ defaultProjectLimit: { tokenQuota: 250000, quotaPeriod: 'daily' }, corsOrigins: ['https://app.example.com'] });
    expect(await runCliOk(gw.url, ['config', 'apply', '-f', out])).toMatch(/^no changes/);
  });
});
