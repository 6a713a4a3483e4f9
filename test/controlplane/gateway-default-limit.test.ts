import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'How many tokens is this?' }];
const PROMPT = countChatPromptTokens(messages);
const DEFAULT = { tokensPerMinute: 2000, tokenQuota: 5000, quotaPeriod: 'daily' };

/** One chat completion with `max_tokens`; the simulated model answers 10 tokens whatever it is. */
async function chat(url: string, key: string, maxTokens: number) {
  const res = await fetch(`${url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim', messages, max_tokens: maxTokens }),
  });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, body, headers: res.headers };
}

/** Refused by a limit it can never fit (over the default's rate and its quota alike: either may answer). */
function expectNeverFits(res: Awaited<ReturnType<typeof chat>>): void {
  expect(['token_rate_limit_exceeded', 'token_quota_exceeded'], JSON.stringify(res.body)).toContain(res.body.error?.code);
  expect(res.body.error?.message).toMatch(/can never fit/);
}

/**
 * A gateway's default project limit (issue 15: a project-admin must not mint uncapped access): it
 * caps every enabled project without a project-wide limit of its own, from its first request.
 */
describe('gateway default project limit', () => {
  let gw: TestGateway;
  let projectAdmin: string;
  let gatewayAdmin: string;

  const createProject = async (name: string, token = projectAdmin): Promise<string> =>
    expectStatus(await gw.admin('POST', '/resources/team/projects', { name }, token), 201).keys.primary;

  beforeAll(async () => {
    gw = await startGateway();
    expectStatus(await gw.admin('POST', '/resources', { name: 'team' }), 201);
    expectStatus(await gw.admin('POST', '/resources/team/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 10 } }), 201);
    expectStatus(await gw.admin('POST', '/resources/team/projects', { name: 'before' }), 201); // disabled: predates the gateway
    const created = expectStatus(
      await gw.admin('POST', '/gateways', { name: 'gw', resource: 'team', instance: { mode: 'new' }, defaultProjectLimit: DEFAULT }),
      201,
    );
    expect(created).toMatchObject({ defaultProjectLimit: DEFAULT, corsOrigins: [] });
    projectAdmin = expectStatus(await gw.admin('POST', '/tokens', { name: 'team-admin', role: 'project-admin', resources: ['team'] }), 201).token;
    gatewayAdmin = expectStatus(await gw.admin('POST', '/tokens', { name: 'gw-admin', role: 'gateway-admin' }), 201).token;
  });
  afterAll(() => gw.close());

  it("caps a project-admin's new project from its first request", async () => {
    const key = await createProject('fresh');
    const greedy = await chat(gw.url, key, 100_000);
    expectNeverFits(greedy);
    expect(greedy.body.error?.message).toContain("the gateway's default project limit");

    const modest = await chat(gw.url, key, 10);
    expect(modest.status).toBe(200);
    expect(modest.headers.get('x-ratelimit-limit-tokens')).toBe('2000');
    expect(modest.headers.get('x-quota-remaining-tokens')).toBe(String(5000 - PROMPT - 10));
  });

  it('does not apply to a project with a project-wide limit of its own; a deployment limit does not replace it', async () => {
    const own = await createProject('own');
    const ownLimit = expectStatus(await gw.admin('POST', '/gateways/gw/limits', { project: 'own', tokensPerMinute: 50_000 }), 201);
    const big = await chat(gw.url, own, 10_000);
    expect(big.status).toBe(200);
    expect(big.headers.get('x-ratelimit-limit-tokens')).toBe('50000');
    expect(big.headers.get('x-quota-remaining-tokens')).toBeNull();

    const perDeployment = await createProject('per-deployment');
    expectStatus(await gw.admin('POST', '/gateways/gw/limits', { project: 'per-deployment', deployment: 'sim', tokensPerMinute: 50_000 }), 201);
    expectNeverFits(await chat(gw.url, perDeployment, 10_000));

    // Its own limit gone, the default caps it again from the next request.
    expect((await gw.admin('DELETE', `/gateways/gw/limits/${ownLimit.id}`)).status).toBe(204);
    expectNeverFits(await chat(gw.url, own, 10_000));
  });

  it('shows which limit each project runs under, and the standing under the default', async () => {
    const key = await createProject('watched');
    await createProject('capped');
    const limit = expectStatus(await gw.admin('POST', '/gateways/gw/limits', { project: 'capped', tokenQuota: 900, quotaPeriod: 'monthly' }), 201);
    expect((await chat(gw.url, key, 10)).status).toBe(200);

    const items: { name: string; limit: unknown }[] = expectStatus(await gw.admin('GET', '/gateways/gw/projects'), 200).items;
    const of = (name: string) => items.find((p) => p.name === name)?.limit;
    expect(of('watched')).toEqual({ source: 'gateway-default', id: 'default:watched', ...DEFAULT });
    expect(of('capped')).toEqual({ source: 'project', id: limit.id, tokensPerMinute: null, tokenQuota: 900, quotaPeriod: 'monthly' });
    expect(of('before')).toBeNull(); // not enabled: no limit applies

    const status = expectStatus(await gw.admin('GET', '/gateways/gw/limits/default:watched/status'), 200);
    expect(status).toMatchObject({ id: 'default:watched', project: 'watched', deployment: null, source: 'gateway-default' });
    expect(status.tpm).toMatchObject({ limit: 2000, used: PROMPT + 10 });
    expect(status.quota).toMatchObject({ limit: 5000, used: PROMPT + 10, period: 'daily' });
    // Encoded as a client library would send it.
    expect(expectStatus(await gw.admin('GET', '/gateways/gw/limits/default%3Awatched/status'), 200).quota.used).toBe(PROMPT + 10);
    expect(expectStatus(await gw.admin('GET', `/gateways/gw/limits/${limit.id}/status`), 200).source).toBe('project');

    expect(expectError(await gw.admin('GET', '/gateways/gw/limits/default:capped/status'), 404, 'not_found')).toContain('of its own');
    expect(expectError(await gw.admin('GET', '/gateways/gw/limits/default:before/status'), 404, 'not_found')).toContain('not enabled');
    expectError(await gw.admin('GET', '/gateways/gw/limits/default:ghost/status'), 404, 'not_found');

    // Enabling a project answers its standing too.
    expect(expectStatus(await gw.admin('PUT', '/gateways/gw/projects/before'), 200)).toEqual({
      name: 'before',
      gatewayStatus: 'enabled',
      limit: { source: 'gateway-default', id: 'default:before', ...DEFAULT },
    });
  });

  it('may be set only by owners and gateway-admins, not by a project-admin', async () => {
    expectError(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit: null }, projectAdmin), 403, 'forbidden');
    expectError(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit: { tokensPerMinute: 10_000_000 } }, projectAdmin), 403, 'forbidden');
    const doc = expectStatus(await gw.admin('GET', '/config'), 200);
    doc.gateways[0].defaultProjectLimit = null;
    expectError(await gw.admin('PUT', '/config', doc, projectAdmin), 403, 'forbidden');
    expect(expectStatus(await gw.admin('GET', '/gateways/gw'), 200).defaultProjectLimit).toEqual(DEFAULT);

    const raised = expectStatus(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit: { tokensPerMinute: 3000 } }, gatewayAdmin), 200);
    expect(raised.defaultProjectLimit).toEqual({ ...DEFAULT, tokensPerMinute: 3000 });
    const audit = expectStatus(await gw.admin('GET', '/audit?limit=1'), 200).items[0];
    expect(audit).toMatchObject({ actor: 'gw-admin', action: 'gateway.update', target: 'gateways/gw', detail: { defaultProjectLimit: raised.defaultProjectLimit } });
  });

  it('validates like a limit, patches field by field, and is removed with null', async () => {
    const bad = async (defaultProjectLimit: unknown) => expectError(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit }), 400, 'validation_failed');
    expect(await bad({ tokensPerMinute: null, tokenQuota: null })).toMatch(/^defaultProjectLimit: a limit needs tokensPerMinute, tokenQuota, or both/);
    expect(await bad({ tokensPerMinute: 0 })).toMatch(/^defaultProjectLimit\.tokensPerMinute: /);
    expect(await bad({ tokensPerMinute: 1.5 })).toMatch(/whole number/);
    expect(await bad({ quotaPeriod: 'fortnightly' })).toMatch(/^defaultProjectLimit\.quotaPeriod: /);
    expect(await bad({ tokensPerMinute: 5, burst: 2 })).toContain('"burst"');
    const noPeriod = await gw.admin('POST', '/gateways', { name: 'gw2', resource: 'team', instance: { mode: 'new' }, defaultProjectLimit: { tokenQuota: 5 } });
    expect(expectError(noPeriod, 400, 'validation_failed')).toContain('quotaPeriod is required');
    expect((noPeriod.body as { error: { param: string } }).error.param).toBe('defaultProjectLimit.quotaPeriod');

    // Clearing the quota clears its period; the rate stays.
    const noQuota = expectStatus(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit: { tokenQuota: null } }), 200);
    expect(noQuota.defaultProjectLimit).toEqual({ tokensPerMinute: 3000, tokenQuota: null, quotaPeriod: null });

    const key = await createProject('after-removal');
    expect((await chat(gw.url, key, 100_000)).status).toBe(429);
    const removed = expectStatus(await gw.admin('PATCH', '/gateways/gw', { defaultProjectLimit: null }), 200);
    expect(removed.defaultProjectLimit).toBeNull();
    expect((await chat(gw.url, key, 100_000)).status).toBe(200);
    const items: { name: string; limit: unknown }[] = expectStatus(await gw.admin('GET', '/gateways/gw/projects'), 200).items;
    expect(items.find((p) => p.name === 'after-removal')?.limit).toBeNull();
    expectError(await gw.admin('GET', '/gateways/gw/limits/default:after-removal/status'), 404, 'not_found');
  });
});

describe('gateway default project limit across a restart', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-default-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const perCall = PROMPT + 10;

  it('keeps the quota a project used under the default', async () => {
    const first = await startGateway({ dataDir });
    const seeded = await seedBasic(first, { completionTokens: 10 });
    expectStatus(await first.admin('PATCH', '/gateways/gw1', { defaultProjectLimit: { tokenQuota: 2 * perCall, quotaPeriod: 'monthly' } }), 200);
    const call = (url: string) =>
      fetch(`${url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim-chat', messages, max_tokens: 10 }),
      });
    expect((await call(first.url)).status).toBe(200);
    await first.close();

    const second = await startGateway({ dataDir });
    try {
      const res = await call(second.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-quota-remaining-tokens')).toBe('0');
      expect((await call(second.url)).status).toBe(403);
    } finally {
      await second.close();
    }
  });
});
