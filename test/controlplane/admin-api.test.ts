import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, parseSecretKey } from '../../src/security/secret-box.js';
import { chat, expectError, expectStatus, poll, rawAdmin } from '../support/admin-helpers.js';
import { ADMIN_TOKEN, SECRET_KEY, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

/** The audit actor of the owner token configured through TOLLGATE_ADMIN_TOKEN (the harness's token). */
const OWNER = 'env:TOLLGATE_ADMIN_TOKEN';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

interface AuditItem {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown> | null;
}

let gw: TestGateway;
let seeded: Seeded;
const startedAt = new Date().toISOString();

beforeAll(async () => {
  gw = await startGateway();
  seeded = await seedBasic(gw);
});

afterAll(async () => {
  await gw?.close();
});

async function audit(): Promise<AuditItem[]> {
  const res = await gw.admin<{ items: AuditItem[] }>('GET', '/audit?limit=500');
  expect(res.status).toBe(200);
  return res.body.items;
}

/** The newest audit entry for an action and target; fails when there is none. */
async function auditEntry(action: string, target: string): Promise<AuditItem> {
  const found = (await audit()).find((e) => e.action === action && e.target === target);
  expect(found, `audit entry ${action} ${target}`).toBeDefined();
  return found!;
}

function expectAudited(entry: AuditItem, actor: string): void {
  expect(entry.actor).toBe(actor);
  expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
  expect(entry.at >= startedAt).toBe(true);
  expect(entry.at <= new Date().toISOString()).toBe(true);
}

/** Everything the store holds, as one string, to look for secrets in clear. */
async function storeDump(): Promise<string> {
  const store = gw.tollgate.store;
  const [config, tokens, entries] = await Promise.all([
    store.loadConfig(),
    store.listAdminTokens(),
    store.listAudit({ limit: 10_000 }),
  ]);
  return JSON.stringify({ config, tokens, entries });
}

describe('authentication', () => {
  it('answers 401 unauthorized without a token', async () => {
    const res = await fetch(`${gw.url}/admin/v1/resources`);
    const body: unknown = await res.json();
    expectError({ status: res.status, body }, 401, 'unauthorized');
  });

  it('answers 401 unauthorized for an unknown token and a non-bearer scheme', async () => {
    expectError(await gw.admin('GET', '/resources', undefined, 'tga_not-a-real-token-000000'), 401, 'unauthorized');
    const res = await fetch(`${gw.url}/admin/v1/resources`, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    expectError({ status: res.status, body: await res.json() }, 401, 'unauthorized');
  });

  it('says who is calling on /whoami', async () => {
    const res = await gw.admin('GET', '/whoami');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: OWNER, role: 'owner', resources: null });
  });
});

describe('instances', () => {
  it('creates, lists and refuses duplicates and bad names', async () => {
    const created = expectStatus(await gw.admin('POST', '/instances', { name: 'inst-a' }), 201);
    expect(created).toMatchObject({ name: 'inst-a', gateway: null, eligible: true });

    const list = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(list.items.filter((i: { name: string }) => i.name === 'inst-a')).toHaveLength(1);

    expectError(await gw.admin('POST', '/instances', { name: 'inst-a' }), 409, 'already_exists');
    const msg = expectError(await gw.admin('POST', '/instances', { name: 'Inst_A' }), 400, 'validation_failed');
    expect(msg).toMatch(/^name: /);
    expectError(await gw.admin('POST', '/instances', {}), 400, 'validation_failed');

    expectAudited(await auditEntry('instance.create', 'instances/inst-a'), OWNER);
  });
});

describe('resources', () => {
  it('creates, reads, patches and lists a resource', async () => {
    const created = expectStatus(await gw.admin('POST', '/resources', { name: 'res-a' }), 201);
    expect(created).toMatchObject({ name: 'res-a', description: null });

    expect(expectStatus(await gw.admin('GET', '/resources/res-a'), 200)).toMatchObject({ name: 'res-a', description: null });

    const patched = expectStatus(await gw.admin('PATCH', '/resources/res-a', { description: 'team A models' }), 200);
    expect(patched).toMatchObject({ name: 'res-a', description: 'team A models' });
    expect(expectStatus(await gw.admin('GET', '/resources/res-a'), 200).description).toBe('team A models');

    const list = expectStatus(await gw.admin('GET', '/resources'), 200);
    expect(list.items.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['r1', 'res-a']));

    expectAudited(await auditEntry('resource.create', 'resources/res-a'), OWNER);
    const update = await auditEntry('resource.update', 'resources/res-a');
    expectAudited(update, OWNER);
    expect(update.detail).toEqual({ description: 'team A models' });
  });

  it('refuses a duplicate name with 409 already_exists', async () => {
    await gw.admin('POST', '/resources', { name: 'res-dup' });
    expectError(await gw.admin('POST', '/resources', { name: 'res-dup' }), 409, 'already_exists');
  });

  it.each([
    ['uppercase', 'Res'],
    ['empty', ''],
    ['64 characters', 'a'.repeat(64)],
    ['leading dash', '-res'],
    ['underscore', 'res_a'],
    ['dot', 'res.a'],
    ['space', 'res a'],
    ['number instead of string', 42],
    ['null', null],
  ])('refuses a resource name that is %s with 400 validation_failed', async (_what, name) => {
    const msg = expectError(await gw.admin('POST', '/resources', { name }), 400, 'validation_failed');
    expect(msg).toMatch(/^name: /);
  });

  it('accepts a 63-character name and digits first', async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'b'.repeat(63) }), 201);
    expectStatus(await gw.admin('POST', '/resources', { name: '9lives' }), 201);
  });

  it('answers 404 not_found for an unknown resource', async () => {
    expectError(await gw.admin('GET', '/resources/nope'), 404, 'not_found');
    expectError(await gw.admin('PATCH', '/resources/nope', { description: 'x' }), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/resources/nope'), 404, 'not_found');
    expectError(await gw.admin('GET', '/resources/nope/deployments'), 404, 'not_found');
    expectError(await gw.admin('GET', '/resources/nope/projects'), 404, 'not_found');
    expectError(await gw.admin('POST', '/resources/nope/projects', { name: 'p' }), 404, 'not_found');
    expectError(await gw.admin('POST', '/resources/nope/deployments', { name: 'd', provider: 'simulated' }), 404, 'not_found');
  });
});

describe('deployments', () => {
  const UPSTREAM_KEY = 'sk-upstream-secret-4f9a2c7e1b';
  const OTHER_KEY = 'sk-upstream-rotated-8d3e6a0f5c';

  beforeAll(async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-dep' }), 201);
  });

  it('creates a deployment with a dotted name; the upstream key is write-only', async () => {
    const res = await gw.admin('POST', '/resources/res-dep/deployments', {
      name: 'gpt-4.1',
      provider: 'openai',
      upstreamUrl: 'https://api.openai.com/v1',
      upstreamModel: 'gpt-4.1-2025-04-14',
      upstreamApiKey: UPSTREAM_KEY,
    });
    const created = expectStatus(res, 201);
    expect(created).toMatchObject({
      name: 'gpt-4.1',
      resource: 'res-dep',
      provider: 'openai',
      upstreamUrl: 'https://api.openai.com/v1',
      upstreamModel: 'gpt-4.1-2025-04-14',
      apiVersion: null,
      hasUpstreamApiKey: true,
    });
    expect(created).not.toHaveProperty('upstreamApiKey');
    expect(JSON.stringify(created)).not.toContain(UPSTREAM_KEY);

    const got = expectStatus(await gw.admin('GET', '/resources/res-dep/deployments/gpt-4.1'), 200);
    expect(got).toMatchObject({ name: 'gpt-4.1', hasUpstreamApiKey: true });
    expect(got).not.toHaveProperty('upstreamApiKey');
    const list = expectStatus(await gw.admin('GET', '/resources/res-dep/deployments'), 200);
    expect(list.items.map((d: { name: string }) => d.name)).toEqual(['gpt-4.1']);
    expect(JSON.stringify(got) + JSON.stringify(list)).not.toContain(UPSTREAM_KEY);
  });

  it('seals the upstream key at rest (v1. AES-GCM) and never writes it in clear, audit included', async () => {
    const resource = await gw.tollgate.store.findResource('res-dep');
    const stored = await gw.tollgate.store.findDeployment(resource!.id, 'gpt-4.1');
    expect(stored?.upstreamApiKeySealed).toMatch(/^v1\./);
    expect(stored?.upstreamApiKeySealed).not.toContain(UPSTREAM_KEY);
    expect(new SecretBox(parseSecretKey(SECRET_KEY)).open(stored!.upstreamApiKeySealed!)).toBe(UPSTREAM_KEY);
    expect(await storeDump()).not.toContain(UPSTREAM_KEY);

    const entry = await auditEntry('deployment.create', 'resources/res-dep/deployments/gpt-4.1');
    expectAudited(entry, OWNER);
    expect(entry.detail).toMatchObject({ name: 'gpt-4.1', provider: 'openai', upstreamApiKey: '(set)' });
  });

  it('accepts "_" and "." in deployment names but not uppercase or a leading dot', async () => {
    expectStatus(await gw.admin('POST', '/resources/res-dep/deployments', { name: 'my_model.v2', provider: 'simulated' }), 201);
    for (const name of ['GPT-4', '.hidden', 'a/b', 'x'.repeat(64), '']) {
      const msg = expectError(await gw.admin('POST', '/resources/res-dep/deployments', { name, provider: 'simulated' }), 400, 'validation_failed');
      expect(msg).toMatch(/^name: /);
    }
  });

  it('refuses duplicates, unknown providers and a provider config the provider rejects', async () => {
    expectError(await gw.admin('POST', '/resources/res-dep/deployments', { name: 'gpt-4.1', provider: 'simulated' }), 409, 'already_exists');
    const provider = expectError(await gw.admin('POST', '/resources/res-dep/deployments', { name: 'x1', provider: 'nope' }), 400, 'validation_failed');
    expect(provider).toMatch(/^provider: /);
    expectError(await gw.admin('POST', '/resources/res-dep/deployments', { name: 'x2' }), 400, 'validation_failed');
    // openai needs an upstream key
    const noKey = expectError(await gw.admin('POST', '/resources/res-dep/deployments', { name: 'x3', provider: 'openai' }), 400, 'validation_failed');
    expect(noKey).toContain('upstreamApiKey');
    // azure-openai needs an http(s) upstream URL
    expectError(
      await gw.admin('POST', '/resources/res-dep/deployments', { name: 'x4', provider: 'azure-openai', upstreamUrl: 'ftp://example.com' }),
      400,
      'validation_failed',
    );
    // none of the refused ones was created
    const list = expectStatus(await gw.admin('GET', '/resources/res-dep/deployments'), 200);
    expect(list.items.map((d: { name: string }) => d.name).sort()).toEqual(['gpt-4.1', 'my_model.v2']);
  });

  it('patches fields, rotates the sealed key without echoing it, and keeps the rest', async () => {
    const patched = expectStatus(
      await gw.admin('PATCH', '/resources/res-dep/deployments/gpt-4.1', { upstreamModel: 'gpt-4.1-mini', upstreamApiKey: OTHER_KEY }),
      200,
    );
    expect(patched).toMatchObject({
      name: 'gpt-4.1',
      provider: 'openai',
      upstreamUrl: 'https://api.openai.com/v1',
      upstreamModel: 'gpt-4.1-mini',
      hasUpstreamApiKey: true,
    });
    expect(JSON.stringify(patched)).not.toContain(OTHER_KEY);
    const resource = await gw.tollgate.store.findResource('res-dep');
    const stored = await gw.tollgate.store.findDeployment(resource!.id, 'gpt-4.1');
    expect(stored?.upstreamApiKeySealed).toMatch(/^v1\./);
    expect(new SecretBox(parseSecretKey(SECRET_KEY)).open(stored!.upstreamApiKeySealed!)).toBe(OTHER_KEY);
    expect(await storeDump()).not.toContain(OTHER_KEY);

    // openai cannot lose its key
    expectError(await gw.admin('PATCH', '/resources/res-dep/deployments/gpt-4.1', { upstreamApiKey: null }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', '/resources/res-dep/deployments/gpt-4.1', { name: 'renamed' }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', '/resources/res-dep/deployments/missing', { upstreamModel: 'x' }), 404, 'not_found');

    const entry = await auditEntry('deployment.update', 'resources/res-dep/deployments/gpt-4.1');
    expectAudited(entry, OWNER);
    expect(entry.detail).toEqual({ upstreamModel: 'gpt-4.1-mini', upstreamApiKey: '(set)' });
  });

  it('clears an optional upstream key with null', async () => {
    expectStatus(
      await gw.admin('POST', '/resources/res-dep/deployments', {
        name: 'local-llm',
        provider: 'openai-compatible',
        upstreamUrl: 'http://127.0.0.1:9/v1',
        upstreamApiKey: 'local-key-123',
      }),
      201,
    );
    const cleared = expectStatus(await gw.admin('PATCH', '/resources/res-dep/deployments/local-llm', { upstreamApiKey: null }), 200);
    expect(cleared.hasUpstreamApiKey).toBe(false);
    expect(expectStatus(await gw.admin('GET', '/resources/res-dep/deployments/local-llm'), 200).hasUpstreamApiKey).toBe(false);
  });

  it('deletes a deployment: 204, then 404', async () => {
    expect((await gw.admin('DELETE', '/resources/res-dep/deployments/local-llm')).status).toBe(204);
    expectError(await gw.admin('GET', '/resources/res-dep/deployments/local-llm'), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/resources/res-dep/deployments/local-llm'), 404, 'not_found');
    expectAudited(await auditEntry('deployment.delete', 'resources/res-dep/deployments/local-llm'), OWNER);
  });
});

describe('projects, keys and gateway status', () => {
  let early: { primary: string; secondary: string };

  beforeAll(async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-p' }), 201);
  });

  it('creates a project: 201 with both keys, shown only here', async () => {
    const created = expectStatus(await gw.admin('POST', '/resources/res-p/projects', { name: 'early' }), 201);
    expect(created).toMatchObject({ name: 'early', resource: 'res-p', gatewayStatus: 'disabled' });
    expect(created.keys.primary).toMatch(/^tgk_[A-Za-z0-9_-]{32}$/);
    expect(created.keys.secondary).toMatch(/^tgk_[A-Za-z0-9_-]{32}$/);
    expect(created.keys.primary).not.toBe(created.keys.secondary);
    early = created.keys;

    const got = expectStatus(await gw.admin('GET', '/resources/res-p/projects/early'), 200);
    expect(got).toMatchObject({
      name: 'early',
      gatewayStatus: 'disabled',
      keyHints: { primary: early.primary.slice(0, 8), secondary: early.secondary.slice(0, 8) },
    });
    expect(got).not.toHaveProperty('keys');
    const list = expectStatus(await gw.admin('GET', '/resources/res-p/projects'), 200);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).not.toHaveProperty('keys');
    const text = JSON.stringify(got) + JSON.stringify(list);
    expect(text).not.toContain(early.primary);
    expect(text).not.toContain(early.secondary);

    expectAudited(await auditEntry('project.create', 'resources/res-p/projects/early'), OWNER);
  });

  it('stores keys only as SHA-256 hashes, nowhere in clear', async () => {
    const resource = await gw.tollgate.store.findResource('res-p');
    const [project] = await gw.tollgate.store.listProjects(resource!.id);
    expect(project?.primaryKey.hash).toBe(sha256(early.primary));
    expect(project?.secondaryKey.hash).toBe(sha256(early.secondary));
    expect(project?.primaryKey.hash).not.toBe(early.primary);
    expect(project?.primaryKey.hash).toMatch(/^[0-9a-f]{64}$/);
    const dump = await storeDump();
    expect(dump).not.toContain(early.primary);
    expect(dump).not.toContain(early.secondary);
  });

  it('refuses duplicates, bad names and extra fields', async () => {
    expectError(await gw.admin('POST', '/resources/res-p/projects', { name: 'early' }), 409, 'already_exists');
    expectError(await gw.admin('POST', '/resources/res-p/projects', { name: 'Early' }), 400, 'validation_failed');
    const extra = expectError(await gw.admin('POST', '/resources/res-p/projects', { name: 'p9', keys: {} }), 400, 'validation_failed');
    expect(extra).toContain('"keys"');
    expectError(await gw.admin('GET', '/resources/res-p/projects/ghost'), 404, 'not_found');
  });

  it('projects created after the gateway are enabled; older ones stay disabled until added', async () => {
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-p', resource: 'res-p', instance: { mode: 'new' } }), 201);
    const late = expectStatus(await gw.admin('POST', '/resources/res-p/projects', { name: 'late' }), 201);
    expect(late.gatewayStatus).toBe('enabled');

    const rows = expectStatus(await gw.admin('GET', '/gateways/gw-p/projects'), 200);
    expect(rows).toEqual({
      items: [
        { name: 'early', gatewayStatus: 'disabled', limit: null },
        { name: 'late', gatewayStatus: 'enabled', limit: null },
      ],
    });

    expect(expectStatus(await gw.admin('PUT', '/gateways/gw-p/projects/early'), 200)).toEqual({ name: 'early', gatewayStatus: 'enabled', limit: null });
    expect(expectStatus(await gw.admin('GET', '/resources/res-p/projects/early'), 200).gatewayStatus).toBe('enabled');
    expectAudited(await auditEntry('gateway.project.add', 'gateways/gw-p/projects/early'), OWNER);

    expect(expectStatus(await gw.admin('DELETE', '/gateways/gw-p/projects/early'), 200)).toEqual({ name: 'early', gatewayStatus: 'disabled', limit: null });
    expect(expectStatus(await gw.admin('GET', '/gateways/gw-p/projects'), 200).items).toEqual([
      { name: 'early', gatewayStatus: 'disabled', limit: null },
      { name: 'late', gatewayStatus: 'enabled', limit: null },
    ]);
    expectAudited(await auditEntry('gateway.project.disable', 'gateways/gw-p/projects/early'), OWNER);

    expectError(await gw.admin('PUT', '/gateways/gw-p/projects/ghost'), 404, 'not_found');
    expectError(await gw.admin('PUT', '/gateways/no-gw/projects/early'), 404, 'not_found');
    expectError(await gw.admin('GET', '/gateways/no-gw/projects'), 404, 'not_found');
    // a project of another resource is not on this gateway
    expectError(await gw.admin('PUT', '/gateways/gw-p/projects/p1'), 404, 'not_found');
  });

  it('regenerates one key: a new key answered once, stored as a hash, the other slot untouched', async () => {
    const resource = await gw.tollgate.store.findResource('res-p');
    const before = await gw.tollgate.store.findProject(resource!.id, 'early');
    const res = expectStatus(await gw.admin('POST', '/resources/res-p/projects/early/keys/primary/regenerate'), 200);
    expect(res).toMatchObject({ name: 'early', slot: 'primary' });
    expect(res.key).toMatch(/^tgk_/);
    expect(res.key).not.toBe(early.primary);
    const after = await gw.tollgate.store.findProject(resource!.id, 'early');
    expect(after?.primaryKey.hash).toBe(sha256(res.key));
    expect(after?.secondaryKey).toEqual(before?.secondaryKey);
    expect(await storeDump()).not.toContain(res.key);
    const got = expectStatus(await gw.admin('GET', '/resources/res-p/projects/early'), 200);
    expect(got.keyHints.primary).toBe(res.key.slice(0, 8));
    expect(JSON.stringify(got)).not.toContain(res.key);
    expectAudited(await auditEntry('project.key.regenerate', 'resources/res-p/projects/early/keys/primary'), OWNER);

    expectError(await gw.admin('POST', '/resources/res-p/projects/early/keys/tertiary/regenerate'), 404, 'not_found');
    expectError(await gw.admin('POST', '/resources/res-p/projects/ghost/keys/primary/regenerate'), 404, 'not_found');
  });

  it('deletes a project: 204, then 404', async () => {
    expectStatus(await gw.admin('POST', '/resources/res-p/projects', { name: 'doomed' }), 201);
    expect((await gw.admin('DELETE', '/resources/res-p/projects/doomed')).status).toBe(204);
    expectError(await gw.admin('GET', '/resources/res-p/projects/doomed'), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/resources/res-p/projects/doomed'), 404, 'not_found');
    expectAudited(await auditEntry('project.delete', 'resources/res-p/projects/doomed'), OWNER);
  });
});

describe('gateways', () => {
  beforeAll(async () => {
    for (const name of ['res-g1', 'res-g2', 'res-g3', 'res-g4']) expectStatus(await gw.admin('POST', '/resources', { name }), 201);
    expectStatus(await gw.admin('POST', '/instances', { name: 'shared-inst' }), 201);
  });

  it('creates a gateway on an existing instance; it becomes enabled shortly after', async () => {
    const res = await gw.admin('POST', '/gateways', { name: 'gw-g1', resource: 'res-g1', instance: { mode: 'existing', name: 'shared-inst' } });
    const created = expectStatus(res, 201);
    expect(created).toMatchObject({ name: 'gw-g1', resource: 'res-g1', instance: 'shared-inst' });
    expect(['provisioning', 'enabled']).toContain(created.status);

    const got = await poll(
      () => gw.admin('GET', '/gateways/gw-g1'),
      (r) => r.body?.status === 'enabled',
    );
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ name: 'gw-g1', resource: 'res-g1', instance: 'shared-inst', status: 'enabled' });

    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.find((i: { name: string }) => i.name === 'shared-inst')).toMatchObject({ gateway: 'gw-g1', eligible: false });

    const entry = await auditEntry('gateway.create', 'gateways/gw-g1');
    expectAudited(entry, OWNER);
    expect(entry.detail).toMatchObject({ resource: 'res-g1', instance: 'shared-inst' });
  });

  it('refuses an instance that already backs a gateway with 409 instance_in_use, saying why', async () => {
    const msg = expectError(
      await gw.admin('POST', '/gateways', { name: 'gw-g2', resource: 'res-g2', instance: { mode: 'existing', name: 'shared-inst' } }),
      409,
      'instance_in_use',
    );
    expect(msg).toContain('shared-inst');
    expect(msg).toContain('gw-g1');
    expectError(await gw.admin('GET', '/gateways/gw-g2'), 404, 'not_found');
  });

  it('refuses a second gateway on a resource with 409 resource_has_gateway', async () => {
    const msg = expectError(
      await gw.admin('POST', '/gateways', { name: 'gw-g1b', resource: 'res-g1', instance: { mode: 'new' } }),
      409,
      'resource_has_gateway',
    );
    expect(msg).toContain('gw-g1');
    // the refused gateway left no new instance behind
    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.map((i: { name: string }) => i.name)).not.toContain('gw-g1b');
  });

  it('refuses duplicates, unknown references and bad bodies', async () => {
    expectError(await gw.admin('POST', '/gateways', { name: 'gw-g1', resource: 'res-g2', instance: { mode: 'new' } }), 409, 'already_exists');
    expectError(await gw.admin('POST', '/gateways', { name: 'gw-x', resource: 'no-such-res', instance: { mode: 'new' } }), 404, 'not_found');
    expectError(
      await gw.admin('POST', '/gateways', { name: 'gw-x', resource: 'res-g2', instance: { mode: 'existing', name: 'no-such-inst' } }),
      404,
      'not_found',
    );
    const bad = [
      { name: 'GW', resource: 'res-g2', instance: { mode: 'new' } },
      { name: 'gw-x', resource: 'res-g2' },
      { name: 'gw-x', resource: 'res-g2', instance: { mode: 'reuse' } },
      { name: 'gw-x', resource: 'res-g2', instance: { mode: 'existing' } },
      { name: 'gw-x', resource: 'res-g2', instance: 'new' },
      { name: 'gw-x', resource: 'res-g2', instance: { mode: 'new', name: 'extra' } },
      { name: 'gw-x', resource: 'res-g2', instance: { mode: 'new' }, status: 'enabled' },
    ];
    for (const body of bad) expectError(await gw.admin('POST', '/gateways', body), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/gateways/gw-x'), 404, 'not_found');
  });

  it('creates a gateway with a new instance, listed with its gateway', async () => {
    const created = expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-g2', resource: 'res-g2', instance: { mode: 'new' } }), 201);
    expect(created).toMatchObject({ name: 'gw-g2', resource: 'res-g2' });
    expect(typeof created.instance).toBe('string');
    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.find((i: { name: string }) => i.name === created.instance)).toMatchObject({ gateway: 'gw-g2', eligible: false });

    const list = expectStatus(await gw.admin('GET', '/gateways'), 200);
    const names = list.items.map((g: { name: string }) => g.name);
    expect(names).toEqual(expect.arrayContaining(['gw1', 'gw-g1', 'gw-g2']));
    for (const g of list.items) expect(Object.keys(g)).toEqual(expect.arrayContaining(['name', 'resource', 'instance', 'status']));
  });

  it('a new instance never takes the name of an existing one', async () => {
    expectStatus(await gw.admin('POST', '/instances', { name: 'gw-g3' }), 201);
    const created = expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-g3', resource: 'res-g3', instance: { mode: 'new' } }), 201);
    expect(created.instance).not.toBe('gw-g3');
    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.find((i: { name: string }) => i.name === 'gw-g3')).toMatchObject({ gateway: null, eligible: true });
  });

  it('refuses to delete a gateway with enabled projects (409), then deletes it and frees its instance', async () => {
    expectStatus(await gw.admin('POST', '/resources/res-g1/projects', { name: 'busy' }), 201);
    const msg = expectError(await gw.admin('DELETE', '/gateways/gw-g1'), 409, 'gateway_has_enabled_projects');
    expect(msg).toContain('busy');
    expect(expectStatus(await gw.admin('GET', '/gateways/gw-g1'), 200).name).toBe('gw-g1');

    expectStatus(await gw.admin('DELETE', '/gateways/gw-g1/projects/busy'), 200);
    expect((await gw.admin('DELETE', '/gateways/gw-g1')).status).toBe(204);
    expectError(await gw.admin('GET', '/gateways/gw-g1'), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/gateways/gw-g1'), 404, 'not_found');
    expectAudited(await auditEntry('gateway.delete', 'gateways/gw-g1'), OWNER);

    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.find((i: { name: string }) => i.name === 'shared-inst')).toMatchObject({ gateway: null, eligible: true });
    // the freed instance can back another gateway
    const reused = await gw.admin('POST', '/gateways', { name: 'gw-g4', resource: 'res-g4', instance: { mode: 'existing', name: 'shared-inst' } });
    expect(expectStatus(reused, 201).instance).toBe('shared-inst');
  });
});

describe('limits', () => {
  beforeAll(async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-l' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-l/deployments', { name: 'sim-a', provider: 'simulated' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-l/deployments', { name: 'sim-b', provider: 'simulated' }), 201);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-l', resource: 'res-l', instance: { mode: 'new' } }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-l/projects', { name: 'lp1' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-l/projects', { name: 'lp2' }), 201);
  });

  let tpmId: string;
  let quotaId: string;

  it('creates a per-deployment TPM limit', async () => {
    const res = await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', deployment: 'sim-a', tokensPerMinute: 1000 });
    const created = expectStatus(res, 201);
    expect(created).toMatchObject({
      project: 'lp1',
      deployment: 'sim-a',
      tokensPerMinute: 1000,
      tokenQuota: null,
      quotaPeriod: null,
    });
    expect(typeof created.id).toBe('string');
    tpmId = created.id;
    const entry = await auditEntry('limit.create', `gateways/gw-l/limits/${tpmId}`);
    expectAudited(entry, OWNER);
    expect(entry.detail).toMatchObject({ project: 'lp1', deployment: 'sim-a', tokensPerMinute: 1000 });
  });

  it('creates a project-wide quota limit (no deployment)', async () => {
    const created = expectStatus(
      await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', tokenQuota: 50_000, quotaPeriod: 'daily' }),
      201,
    );
    expect(created).toMatchObject({ project: 'lp1', deployment: null, tokensPerMinute: null, tokenQuota: 50_000, quotaPeriod: 'daily' });
    quotaId = created.id;
  });

  it('refuses a second limit for the same scope with 409 limit_exists', async () => {
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', deployment: 'sim-a', tokenQuota: 5, quotaPeriod: 'hourly' }), 409, 'limit_exists');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', tokensPerMinute: 5 }), 409, 'limit_exists');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', deployment: null, tokensPerMinute: 5 }), 409, 'limit_exists');
    // a different scope is fine
    expectStatus(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', deployment: 'sim-b', tokensPerMinute: 5 }), 201);
  });

  it.each([
    ['neither limit', { project: 'lp2' }],
    ['both limits null', { project: 'lp2', tokensPerMinute: null, tokenQuota: null }],
    ['tokenQuota without quotaPeriod', { project: 'lp2', tokenQuota: 100 }],
    ['quotaPeriod without tokenQuota', { project: 'lp2', tokensPerMinute: 10, quotaPeriod: 'daily' }],
    ['zero', { project: 'lp2', tokensPerMinute: 0 }],
    ['negative', { project: 'lp2', tokensPerMinute: -5 }],
    ['fraction', { project: 'lp2', tokensPerMinute: 1.5 }],
    ['string number', { project: 'lp2', tokensPerMinute: '100' }],
    ['unknown period', { project: 'lp2', tokenQuota: 100, quotaPeriod: 'fortnightly' }],
    ['unknown field', { project: 'lp2', tokensPerMinute: 10, requestsPerMinute: 5 }],
    ['no project', { tokensPerMinute: 10 }],
  ])('refuses %s with 400 validation_failed', async (_what, body) => {
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', body), 400, 'validation_failed');
  });

  it('names the offending field', async () => {
    expect(expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', tokensPerMinute: 0 }), 400, 'validation_failed')).toMatch(
      /^tokensPerMinute: /,
    );
    expect(
      expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', tokensPerMinute: 10, requestsPerMinute: 5 }), 400, 'validation_failed'),
    ).toContain('"requestsPerMinute"');
    expect(expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', tokenQuota: 100 }), 400, 'validation_failed')).toContain(
      'quotaPeriod',
    );
  });

  it('answers 404 for unknown gateway, project, deployment and for a project of another resource', async () => {
    expectError(await gw.admin('POST', '/gateways/no-gw/limits', { project: 'lp2', tokensPerMinute: 10 }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'ghost', tokensPerMinute: 10 }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', deployment: 'ghost', tokensPerMinute: 10 }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'p1', tokensPerMinute: 10 }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', deployment: 'sim-chat', tokensPerMinute: 10 }), 404, 'not_found');
    expectError(await gw.admin('GET', '/gateways/gw-l/limits/lim_nope'), 404, 'not_found');
    expectError(await gw.admin('PATCH', '/gateways/gw-l/limits/lim_nope', { tokensPerMinute: 1 }), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/gateways/gw-l/limits/lim_nope'), 404, 'not_found');
    expectError(await gw.admin('GET', '/gateways/no-gw/limits'), 404, 'not_found');
    // a limit id of one gateway is unknown on another
    expectError(await gw.admin('GET', `/gateways/gw1/limits/${tpmId}`), 404, 'not_found');
  });

  it('lists and reads limits', async () => {
    const list = expectStatus(await gw.admin('GET', '/gateways/gw-l/limits'), 200);
    expect(list.items).toHaveLength(3);
    expect(list.items.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining([tpmId, quotaId]));
    const got = expectStatus(await gw.admin('GET', `/gateways/gw-l/limits/${tpmId}`), 200);
    expect(got).toMatchObject({ id: tpmId, project: 'lp1', deployment: 'sim-a', tokensPerMinute: 1000, tokenQuota: null, quotaPeriod: null });
  });

  it('patches values and keeps the others', async () => {
    const patched = expectStatus(
      await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { tokensPerMinute: 2000, tokenQuota: 9000, quotaPeriod: 'weekly' }),
      200,
    );
    expect(patched).toMatchObject({ id: tpmId, project: 'lp1', deployment: 'sim-a', tokensPerMinute: 2000, tokenQuota: 9000, quotaPeriod: 'weekly' });
    const again = expectStatus(await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { tokensPerMinute: 2500 }), 200);
    expect(again).toMatchObject({ tokensPerMinute: 2500, tokenQuota: 9000, quotaPeriod: 'weekly' });
    expect(expectStatus(await gw.admin('GET', `/gateways/gw-l/limits/${tpmId}`), 200)).toMatchObject({
      tokensPerMinute: 2500,
      tokenQuota: 9000,
      quotaPeriod: 'weekly',
    });
    const entry = await auditEntry('limit.update', `gateways/gw-l/limits/${tpmId}`);
    expectAudited(entry, OWNER);
  });

  it('tokenQuota: null clears the period too', async () => {
    const cleared = expectStatus(await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { tokenQuota: null }), 200);
    expect(cleared).toMatchObject({ tokensPerMinute: 2500, tokenQuota: null, quotaPeriod: null });
    expect(expectStatus(await gw.admin('GET', `/gateways/gw-l/limits/${tpmId}`), 200)).toMatchObject({ tokenQuota: null, quotaPeriod: null });
  });

  it('refuses a patch that leaves an invalid limit and changes nothing', async () => {
    // the quota-only limit would have no limit left
    expectError(await gw.admin('PATCH', `/gateways/gw-l/limits/${quotaId}`, { tokenQuota: null }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', `/gateways/gw-l/limits/${quotaId}`, { quotaPeriod: null }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { quotaPeriod: 'daily' }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { tokensPerMinute: 0 }), 400, 'validation_failed');
    expectError(await gw.admin('PATCH', `/gateways/gw-l/limits/${tpmId}`, { project: 'lp2' }), 400, 'validation_failed');
    expect(expectStatus(await gw.admin('GET', `/gateways/gw-l/limits/${quotaId}`), 200)).toMatchObject({
      tokensPerMinute: null,
      tokenQuota: 50_000,
      quotaPeriod: 'daily',
    });
    expect(expectStatus(await gw.admin('GET', `/gateways/gw-l/limits/${tpmId}`), 200)).toMatchObject({
      tokensPerMinute: 2500,
      tokenQuota: null,
      quotaPeriod: null,
    });
  });

  it('deletes a limit: 204, then 404, audited', async () => {
    expect((await gw.admin('DELETE', `/gateways/gw-l/limits/${tpmId}`)).status).toBe(204);
    expectError(await gw.admin('GET', `/gateways/gw-l/limits/${tpmId}`), 404, 'not_found');
    expectAudited(await auditEntry('limit.delete', `gateways/gw-l/limits/${tpmId}`), OWNER);
    // the scope is free again
    expectStatus(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp1', deployment: 'sim-a', tokensPerMinute: 10 }), 201);
  });

  it('deleting a deployment removes its limits', async () => {
    const own = expectStatus(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', deployment: 'sim-b', tokensPerMinute: 77 }), 201);
    expect((await gw.admin('DELETE', '/resources/res-l/deployments/sim-b')).status).toBe(204);
    expectError(await gw.admin('GET', `/gateways/gw-l/limits/${own.id}`), 404, 'not_found');
    const list = expectStatus(await gw.admin('GET', '/gateways/gw-l/limits'), 200);
    expect(list.items.filter((l: { deployment: string | null }) => l.deployment === 'sim-b')).toEqual([]);
    expect((await gw.tollgate.store.listLimits()).find((l) => l.id === own.id)).toBeUndefined();
  });

  it('deleting a project removes its limits', async () => {
    const own = expectStatus(await gw.admin('POST', '/gateways/gw-l/limits', { project: 'lp2', tokensPerMinute: 88 }), 201);
    expect((await gw.admin('DELETE', '/resources/res-l/projects/lp2')).status).toBe(204);
    expectError(await gw.admin('GET', `/gateways/gw-l/limits/${own.id}`), 404, 'not_found');
    const list = expectStatus(await gw.admin('GET', '/gateways/gw-l/limits'), 200);
    expect(list.items.filter((l: { project: string }) => l.project === 'lp2')).toEqual([]);
    expect((await gw.tollgate.store.listLimits()).find((l) => l.id === own.id)).toBeUndefined();
  });
});

describe('resource delete', () => {
  it('refuses while a gateway governs the resource; then deletes and cascades', async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-d' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-d/deployments', { name: 'sim-d', provider: 'simulated' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-d/projects', { name: 'pd' }), 201);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-d', resource: 'res-d', instance: { mode: 'new' } }), 201);

    const msg = expectError(await gw.admin('DELETE', '/resources/res-d'), 409, 'resource_has_gateway');
    expect(msg).toContain('gw-d');
    expect(expectStatus(await gw.admin('GET', '/resources/res-d'), 200).name).toBe('res-d');

    expect((await gw.admin('DELETE', '/gateways/gw-d')).status).toBe(204);
    const resource = await gw.tollgate.store.findResource('res-d');
    expect(resource).toBeDefined();
    expect((await gw.admin('DELETE', '/resources/res-d')).status).toBe(204);
    expectError(await gw.admin('GET', '/resources/res-d'), 404, 'not_found');
    expect(await gw.tollgate.store.listDeployments(resource!.id)).toEqual([]);
    expect(await gw.tollgate.store.listProjects(resource!.id)).toEqual([]);
    expectAudited(await auditEntry('resource.delete', 'resources/res-d'), OWNER);

    // the name is free again, with nothing left over
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-d' }), 201);
    expect(expectStatus(await gw.admin('GET', '/resources/res-d/deployments'), 200)).toEqual({ items: [] });
    expect(expectStatus(await gw.admin('GET', '/resources/res-d/projects'), 200)).toEqual({ items: [] });
  });
});

describe('config changes apply to the very next data-plane request', () => {
  it('serves an enabled project', async () => {
    const res = await chat(gw.url, seeded.key);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('DELETE /gateways/gw1/projects/p1 → 403 project_not_enabled; PUT → 200', async () => {
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/projects/p1'), 200);
    expectError(await chat(gw.url, seeded.key), 403, 'project_not_enabled');
    expectError(await chat(gw.url, seeded.secondaryKey), 403, 'project_not_enabled');
    expectStatus(await gw.admin('PUT', '/gateways/gw1/projects/p1'), 200);
    expect((await chat(gw.url, seeded.key)).status).toBe(200);
  });

  it('a project created before its gateway cannot call until added', async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-late-gw' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-late-gw/deployments', { name: 'sim-chat', provider: 'simulated' }), 201);
    const project = expectStatus(await gw.admin('POST', '/resources/res-late-gw/projects', { name: 'pre' }), 201);
    expectError(await chat(gw.url, project.keys.primary), 403, 'project_not_enabled');
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-late', resource: 'res-late-gw', instance: { mode: 'new' } }), 201);
    expectError(await chat(gw.url, project.keys.primary), 403, 'project_not_enabled');
    expectStatus(await gw.admin('PUT', '/gateways/gw-late/projects/pre'), 200);
    expect((await chat(gw.url, project.keys.primary)).status).toBe(200);
  });

  it('regenerating the primary key: old key 401 at once, new key works, secondary keeps working', async () => {
    const res = expectStatus(await gw.admin('POST', '/resources/r1/projects/p1/keys/primary/regenerate'), 200);
    expectError(await chat(gw.url, seeded.key), 401, 'invalid_api_key');
    expect((await chat(gw.url, res.key)).status).toBe(200);
    expect((await chat(gw.url, seeded.secondaryKey)).status).toBe(200);

    const sec = expectStatus(await gw.admin('POST', '/resources/r1/projects/p1/keys/secondary/regenerate'), 200);
    expectError(await chat(gw.url, seeded.secondaryKey), 401, 'invalid_api_key');
    expect((await chat(gw.url, sec.key)).status).toBe(200);
    expect((await chat(gw.url, res.key)).status).toBe(200);
  });

  it('a deleted project key is refused on the next request', async () => {
    const project = expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'short-lived' }), 201);
    expect(project.gatewayStatus).toBe('enabled');
    expect((await chat(gw.url, project.keys.primary)).status).toBe(200);
    expect((await gw.admin('DELETE', '/resources/r1/projects/short-lived')).status).toBe(204);
    expectError(await chat(gw.url, project.keys.primary), 401, 'invalid_api_key');
  });

  it('deleting the gateway, then the resource: 403 project_not_enabled, then 401', async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-gone' }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-gone/deployments', { name: 'sim-chat', provider: 'simulated' }), 201);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-gone', resource: 'res-gone', instance: { mode: 'new' } }), 201);
    const key = expectStatus(await gw.admin('POST', '/resources/res-gone/projects', { name: 'pg' }), 201).keys.primary;
    expect((await chat(gw.url, key)).status).toBe(200);
    expectStatus(await gw.admin('DELETE', '/gateways/gw-gone/projects/pg'), 200);
    expect((await gw.admin('DELETE', '/gateways/gw-gone')).status).toBe(204);
    expectError(await chat(gw.url, key), 403, 'project_not_enabled');
    expect((await gw.admin('DELETE', '/resources/res-gone')).status).toBe(204);
    expectError(await chat(gw.url, key), 401, 'invalid_api_key');
  });

  it('a deleted deployment is unknown on the next request', async () => {
    expectStatus(await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-tmp', provider: 'simulated' }), 201);
    const key = expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'dep-user' }), 201).keys.primary;
    expect((await chat(gw.url, key, 'sim-tmp')).status).toBe(200);
    expect((await gw.admin('DELETE', '/resources/r1/deployments/sim-tmp')).status).toBe(204);
    expectError(await chat(gw.url, key, 'sim-tmp'), 404, 'deployment_not_found');
  });
});

describe('concurrent admins', () => {
  it('racing creates of one resource name: exactly one wins, the rest get 409', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => gw.admin('POST', '/resources', { name: 'raced' })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectError(r, 409, 'already_exists');
    expect((await gw.tollgate.store.listResources()).filter((r) => r.name === 'raced')).toHaveLength(1);
    expect((await audit()).filter((e) => e.action === 'resource.create' && e.target === 'resources/raced')).toHaveLength(1);
  });

  it('racing limits for one scope: exactly one wins, the rest get 409 limit_exists', async () => {
    expectStatus(await gw.admin('POST', '/resources', { name: 'res-race' }), 201);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw-race', resource: 'res-race', instance: { mode: 'new' } }), 201);
    expectStatus(await gw.admin('POST', '/resources/res-race/projects', { name: 'pr' }), 201);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, n) => gw.admin('POST', '/gateways/gw-race/limits', { project: 'pr', tokensPerMinute: 100 + n })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectError(r, 409, 'limit_exists');
    expect(expectStatus(await gw.admin('GET', '/gateways/gw-race/limits'), 200).items).toHaveLength(1);
  });

  it('racing gateways for one instance: exactly one wins, the instance backs one gateway', async () => {
    expectStatus(await gw.admin('POST', '/instances', { name: 'race-inst' }), 201);
    for (const n of [1, 2, 3, 4]) expectStatus(await gw.admin('POST', '/resources', { name: `res-irace-${n}` }), 201);
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        gw.admin('POST', '/gateways', { name: `gw-irace-${n}`, resource: `res-irace-${n}`, instance: { mode: 'existing', name: 'race-inst' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const instance = await gw.tollgate.store.findInstance('race-inst');
    expect((await gw.tollgate.store.listGateways()).filter((g) => g.instanceId === instance!.id)).toHaveLength(1);
  });
});

describe('audit log', () => {
  it('records the actor of a non-owner token', async () => {
    const token = expectStatus(await gw.admin('POST', '/tokens', { name: 'ops-alice', role: 'gateway-admin' }), 201).token;
    expectStatus(await gw.admin('POST', '/instances', { name: 'alice-inst' }, token), 201);
    expectAudited(await auditEntry('instance.create', 'instances/alice-inst'), 'ops-alice');
  });

  it('pages newest first with a cursor', async () => {
    const all = await audit();
    expect(all.length).toBeGreaterThan(6);
    const ids = all.map((e) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);

    const first = expectStatus(await gw.admin('GET', '/audit?limit=3'), 200);
    expect(first.items.map((e: AuditItem) => e.id)).toEqual(ids.slice(0, 3));
    expect(first.nextCursor).toBe(ids[2]);
    const second = expectStatus(await gw.admin('GET', `/audit?limit=3&cursor=${encodeURIComponent(first.nextCursor)}`), 200);
    expect(second.items.map((e: AuditItem) => e.id)).toEqual(ids.slice(3, 6));

    const last = expectStatus(await gw.admin('GET', `/audit?limit=500&cursor=${encodeURIComponent(ids[ids.length - 2]!)}`), 200);
    expect(last.items.map((e: AuditItem) => e.id)).toEqual([ids[ids.length - 1]]);
    expect(last.nextCursor).toBeNull();
  });

  it('the newest entry is the last change', async () => {
    expectStatus(await gw.admin('PATCH', '/resources/res-a', { description: 'latest' }), 200);
    const [newest] = (expectStatus(await gw.admin('GET', '/audit?limit=1'), 200) as { items: AuditItem[] }).items;
    expect(newest).toMatchObject({ actor: OWNER, action: 'resource.update', target: 'resources/res-a', detail: { description: 'latest' } });
  });

  it('refuses a bad page size', async () => {
    expectError(await gw.admin('GET', '/audit?limit=0'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/audit?limit=abc'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/audit?limit=501'), 400, 'validation_failed');
  });

  it('refused changes are not audited', async () => {
    const before = (await audit()).length;
    expectError(await gw.admin('POST', '/resources', { name: 'res-a' }), 409, 'already_exists');
    expectError(await gw.admin('POST', '/resources', { name: 'BAD' }), 400, 'validation_failed');
    expect((await audit()).length).toBe(before);
  });
});

describe('bad input never crashes the server', () => {
  let small: TestGateway;

  beforeAll(async () => {
    small = await startGateway({ maxBodyBytes: 2048 });
  });

  afterAll(async () => {
    await small?.close();
  });

  async function stillWorks(name: string): Promise<void> {
    expect(expectStatus(await small.admin('POST', '/resources', { name }), 201).name).toBe(name);
    expect(expectStatus(await small.admin('GET', `/resources/${name}`), 200).name).toBe(name);
  }

  it('malformed JSON → 400, then the next request works', async () => {
    expectError(await rawAdmin(small.url, 'POST', '/resources', ADMIN_TOKEN, '{"name": "x",'), 400, 'invalid_request');
    expectError(await rawAdmin(small.url, 'POST', '/resources', ADMIN_TOKEN, '{'), 400, 'invalid_request');
    expectError(await rawAdmin(small.url, 'POST', '/resources', ADMIN_TOKEN, 'not json at all'), 400, 'invalid_request');
    await stillWorks('after-bad-json');
  });

  it('wrong types, arrays and scalars as bodies → 400 validation_failed naming the field', async () => {
    expect(expectError(await small.admin('POST', '/resources', { name: ['a'] }), 400, 'validation_failed')).toMatch(/^name: /);
    expect(expectError(await small.admin('POST', '/resources', { name: 'ok-name', description: 5 }), 400, 'validation_failed')).toMatch(
      /^description: /,
    );
    expectError(await small.admin('POST', '/resources', []), 400, 'validation_failed');
    expectError(await small.admin('POST', '/resources', 'res'), 400, 'validation_failed');
    expectError(await small.admin('POST', '/resources', 17), 400, 'validation_failed');
    expectError(await small.admin('POST', '/resources', null), 400, 'validation_failed');
    expect(expectError(await small.admin('POST', '/tokens', { name: 'x', role: 'god' }), 400, 'validation_failed')).toMatch(/^role: /);
    await stillWorks('after-wrong-types');
  });

  it('a missing field is "required"; a field of the wrong type says what was expected, not "is required"', async () => {
    expect(expectError(await small.admin('POST', '/resources', {}), 400, 'validation_failed')).toBe('name: is required');
    const cases: Array<[string, unknown, RegExp]> = [
      ['/resources', { name: 42 }, /^name: .*expected string/],
      ['/resources', { name: 'ok-name', description: 5 }, /^description: .*expected string/],
      ['/instances', { name: true }, /^name: .*expected string/],
    ];
    for (const [path, body, pattern] of cases) {
      const msg = expectError(await small.admin('POST', path, body), 400, 'validation_failed');
      expect(msg, `${path} ${JSON.stringify(body)}`).not.toContain('is required');
      expect(msg).toMatch(pattern);
    }
  });

  it('unknown fields → 400 naming the field', async () => {
    const msg = expectError(await small.admin('POST', '/resources', { name: 'res-x', colour: 'red' }), 400, 'validation_failed');
    expect(msg).toContain('"colour"');
    const patch = expectError(await small.admin('PATCH', '/resources/after-bad-json', { name: 'renamed' }), 400, 'validation_failed');
    expect(patch).toContain('"name"');
    expectError(await small.admin('GET', '/resources/res-x'), 404, 'not_found');
  });

  it('a body over maxBodyBytes → 413 request_too_large, then the next request works', async () => {
    const huge = JSON.stringify({ name: 'huge', description: 'x'.repeat(4096) });
    expect(huge.length).toBeGreaterThan(4096);
    expectError(await rawAdmin(small.url, 'POST', '/resources', ADMIN_TOKEN, huge), 413, 'request_too_large');
    expectError(await small.admin('GET', '/resources/huge'), 404, 'not_found');
    await stillWorks('after-huge');
  });

  it('a non-JSON content type → 400, then the next request works', async () => {
    expectError(await rawAdmin(small.url, 'POST', '/resources', ADMIN_TOKEN, 'name=x', 'application/x-www-form-urlencoded'), 400, 'invalid_request');
    await stillWorks('after-form');
  });

  it('unknown routes and methods → 404 route_not_found', async () => {
    expectError(await small.admin('GET', '/nope'), 404, 'route_not_found');
    expectError(await small.admin('PUT', '/resources'), 404, 'route_not_found');
    expectError(await small.admin('POST', '/resources/after-huge/projects/x/keys'), 404, 'route_not_found');
    const res = await fetch(`${small.url}/nowhere`);
    expectError({ status: res.status, body: await res.json() }, 404, 'route_not_found');
    await stillWorks('after-404');
  });

  it('the data plane: malformed JSON → 400, huge body → 413, no key → 401, then a good call works', async () => {
    const seed = await seedBasic(small);
    const post = (body: string, key = seed.key) =>
      fetch(`${small.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
    expectError(await post('{"model":'), 400, 'invalid_request');
    expectError(await post(JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'x'.repeat(4096) }] })), 413, 'request_too_large');
    expectError(await post(JSON.stringify({ model: 'sim-chat', messages: [] }), 'tgk_unknown'), 401, 'invalid_api_key');
    expect((await chat(small.url, seed.key)).status).toBe(200);
    const health = await fetch(`${small.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
