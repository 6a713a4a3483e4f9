import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/harness.js';

/** A document the tests start from: every kind of thing the config file manages. */
function baseDocument() {
  return {
    version: 1,
    resources: [
      {
        name: 'prod',
        description: 'Production models',
        deployments: [
          { name: 'chat', provider: 'simulated', options: { completionTokens: 5 } },
          { name: 'gpt-4o', provider: 'openai-compatible', upstreamUrl: 'http://127.0.0.1:9/v1', upstreamModel: 'gpt-4o-2024-08-06', upstreamApiKey: 'sk-one' },
        ],
        projects: ['search', 'support'],
      },
    ],
    gateways: [
      {
        name: 'prod-gw',
        resource: 'prod',
        instance: 'prod-pool',
        projects: ['search', 'support'],
        limits: [
          { project: 'search', deployment: 'chat', tokensPerMinute: 10_000 },
          { project: 'support', tokenQuota: 1_000_000, quotaPeriod: 'monthly' },
        ],
      },
    ],
  };
}

type Doc = ReturnType<typeof baseDocument>;
interface Change {
  action: string;
  kind: string;
  target: string;
  fields?: string[];
}

/** PUT /admin/v1/config, the declarative apply, end to end against a real gateway. */
describe('config apply (PUT /admin/v1/config)', () => {
  let gw: TestGateway;
  const apply = (doc: unknown, query = '', token?: string) => gw.admin('PUT', `/config${query}`, doc, token);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  it('creates everything a document names, in an order that works, and shows the new keys once', async () => {
    const dry = await apply(baseDocument(), '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect((await gw.admin('GET', '/resources')).body.items).toEqual([]); // a dry run changes nothing

    const res = await apply(baseDocument());
    expect(res.status).toBe(200);
    expect(res.body.changes).toEqual(dry.body.changes);
    expect(res.body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'create resources/prod',
      'create resources/prod/deployments/chat',
      'create resources/prod/deployments/gpt-4o',
      'create resources/prod/projects/search',
      'create resources/prod/projects/support',
      'create instances/prod-pool',
      'create gateways/prod-gw',
      'enable gateways/prod-gw/projects/search',
      'enable gateways/prod-gw/projects/support',
      'create gateways/prod-gw/limits/search/chat',
      'create gateways/prod-gw/limits/support/*',
    ]);
    expect(res.body.keys).toHaveLength(2);
    const search = res.body.keys.find((k: { project: string }) => k.project === 'search');
    expect(search.primary).toMatch(/^tgk_/);

    // It took effect: the key works on the gateway, under its limit.
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: search.primary, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).withResponse();
    expect(reply.response.headers.get('x-ratelimit-limit-tokens')).toBe('10000');
    const gateway = (await gw.admin('GET', '/gateways/prod-gw')).body;
    expect(gateway).toMatchObject({ resource: 'prod', instance: 'prod-pool', logContent: false });
    const deployment = (await gw.admin('GET', '/resources/prod/deployments/gpt-4o')).body;
    expect(deployment).toMatchObject({ upstreamModel: 'gpt-4o-2024-08-06', hasUpstreamApiKey: true });
  });

  it('changes nothing when applied again, and its export applies as no change either', async () => {
    expect((await apply(baseDocument())).body.changes).toEqual([]);
    const exported = (await gw.admin('GET', '/config')).body;
    expect(exported.gateways[0]).toEqual({
      name: 'prod-gw',
      resource: 'prod',
      instance: 'prod-pool',
      logContent: false,
      projects: ['search', 'support'],
      limits: [
        { project: 'search', deployment: 'chat', tokensPerMinute: 10_000 },
        { project: 'support', tokenQuota: 1_000_000, quotaPeriod: 'monthly' },
      ],
    });
    // The upstream key is write-only: the export leaves it out, which leaves it as it is.
    expect(exported.resources[0].deployments[1]).not.toHaveProperty('upstreamApiKey');
    expect((await apply(exported)).body.changes).toEqual([]);
    expect((await apply(exported, '?prune=true')).body.changes).toEqual([]);
  });

  it('updates just the fields that differ, the upstream key included, and audits each change', async () => {
    const doc: Doc = baseDocument();
    doc.resources[0]!.description = 'Production';
    doc.resources[0]!.deployments[1]!.upstreamApiKey = 'sk-two';
    doc.gateways[0]!.limits[0]!.tokensPerMinute = 20_000;
    Object.assign(doc.gateways[0]!, { logContent: true });
    const res = await apply(doc);
    // Each update shows the old and the new values (a key only as set, never its value).
    expect(res.body.changes).toEqual([
      { action: 'update', kind: 'resource', target: 'resources/prod', fields: ['description'], from: { description: 'Production models' }, to: { description: 'Production' } },
      {
        action: 'update',
        kind: 'deployment',
        target: 'resources/prod/deployments/gpt-4o',
        fields: ['upstreamApiKey'],
        from: { upstreamApiKey: '(set)' },
        to: { upstreamApiKey: '(set)' },
      },
      { action: 'update', kind: 'gateway', target: 'gateways/prod-gw', fields: ['logContent'], from: { logContent: false }, to: { logContent: true } },
      {
        action: 'update',
        kind: 'limit',
        target: 'gateways/prod-gw/limits/search/chat',
        fields: ['tokensPerMinute'],
        from: { tokensPerMinute: 10_000 },
        to: { tokensPerMinute: 20_000 },
      },
    ]);
    expect(JSON.stringify(res.body)).not.toContain('sk-two');
    expect((await apply(doc)).body.changes).toEqual([]);
    const audit = (await gw.admin('GET', '/audit?limit=4')).body.items.map((e: { action: string }) => e.action);
    expect(audit.sort()).toEqual(['deployment.update', 'gateway.update', 'limit.update', 'resource.update']);
  });

  it("a gateway entry's projects and limits are the whole truth: one removed from the file is disabled or deleted, shown in the plan", async () => {
    const doc: Doc = baseDocument();
    Object.assign(doc.gateways[0]!, { logContent: true });
    doc.resources[0]!.description = 'Production';
    doc.resources[0]!.deployments[1]!.upstreamApiKey = 'sk-two';
    doc.gateways[0]!.limits[0]!.tokensPerMinute = 20_000;
    doc.gateways[0]!.limits = [doc.gateways[0]!.limits[0]!];
    doc.gateways[0]!.projects = ['search'];
    const planned = await apply(doc, '?dryRun=true');
    expect(planned.body.changes).toEqual([
      { action: 'delete', kind: 'limit', target: 'gateways/prod-gw/limits/support/*', from: { tokenQuota: 1_000_000, quotaPeriod: 'monthly' } },
      { action: 'disable', kind: 'gateway-project', target: 'gateways/prod-gw/projects/support', from: { gatewayStatus: 'enabled' }, to: { gatewayStatus: 'disabled' } },
    ]);
    expect((await apply(doc)).body.changes).toEqual(planned.body.changes);
    expect((await gw.admin('GET', '/resources/prod/projects/support')).body.gatewayStatus).toBe('disabled');
    // `projects: []` disables every project; leaving `projects` out leaves them as they are.
    const none = structuredClone(doc);
    none.gateways[0]!.projects = [];
    expect((await apply(none, '?dryRun=true')).body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual(['disable gateways/prod-gw/projects/search']);
    const silent: Record<string, unknown> = structuredClone(doc.gateways[0]!);
    delete silent.projects;
    delete silent.limits;
    expect((await apply({ ...doc, gateways: [silent] }, '?dryRun=true')).body.changes).toEqual([]);
    // Back as it was, for the tests after this one.
    doc.gateways[0]!.projects = ['search', 'support'];
    doc.gateways[0]!.limits = baseDocument().gateways[0]!.limits;
    doc.gateways[0]!.limits[0]!.tokensPerMinute = 20_000;
    expect((await apply(doc)).body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'enable gateways/prod-gw/projects/support',
      'create gateways/prod-gw/limits/support/*',
    ]);
  });

  it('leaves what the document does not name, unless pruning; a prune dry run lists it first', async () => {
    const doc: Doc = baseDocument();
    Object.assign(doc.gateways[0]!, { logContent: true });
    doc.resources[0]!.description = 'Production';
    doc.resources[0]!.deployments[1]!.upstreamApiKey = 'sk-two';
    doc.gateways[0]!.limits[0]!.tokensPerMinute = 20_000;
    doc.resources[0]!.deployments = doc.resources[0]!.deployments.filter((d) => d.name !== 'gpt-4o');
    doc.resources[0]!.projects = ['search'];
    expect((await apply(doc)).body.changes).toEqual([]);
    // A resource entry without a `projects` list prunes none of its projects.
    const noProjects: Record<string, unknown> = structuredClone(doc.resources[0]!);
    delete noProjects.projects;
    expect((await apply({ ...doc, resources: [noProjects] }, '?prune=true&dryRun=true')).body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'delete resources/prod/deployments/gpt-4o',
    ]);
    doc.gateways[0]!.projects = ['search'];
    doc.gateways[0]!.limits = [doc.gateways[0]!.limits[0]!];

    const planned = await apply(doc, '?prune=true&dryRun=true');
    expect(planned.body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'delete gateways/prod-gw/limits/support/*',
      'delete resources/prod/projects/support', // deleted, so not disabled first
      'delete resources/prod/deployments/gpt-4o',
    ]);
    expect((await apply(doc, '?prune=true')).body.changes).toEqual(planned.body.changes);
    expect((await gw.admin('GET', '/resources/prod/projects')).body.items.map((p: { name: string }) => p.name)).toEqual(['search']);
    expect((await gw.admin('GET', '/resources/prod/deployments')).body.items.map((d: { name: string }) => d.name)).toEqual(['chat']);
    expect((await gw.admin('GET', '/gateways/prod-gw/limits')).body.items).toHaveLength(1);
  });

  it('prunes gateways and resources the document does not name only with pruneUnnamed, disabling their projects first', async () => {
    await gw.admin('POST', '/resources', { name: 'lab' });
    await gw.admin('POST', '/gateways', { name: 'lab-gw', resource: 'lab', instance: { mode: 'new' } });
    await gw.admin('POST', '/resources/lab/projects', { name: 'notebook' }); // joins lab-gw
    await gw.admin('POST', '/resources/prod/projects', { name: 'intern' }); // joins prod-gw
    const doc = (await gw.admin('GET', '/config')).body;
    doc.resources = doc.resources.filter((r: { name: string }) => r.name !== 'lab');
    doc.gateways = doc.gateways.filter((g: { name: string }) => g.name !== 'lab-gw');
    doc.gateways[0].projects = doc.gateways[0].projects.filter((p: string) => p !== 'intern'); // kept in the resource

    // --prune keeps to what the file names: another team's gateway and resource are not touched.
    expect((await apply(doc, '?prune=true&dryRun=true')).body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'disable gateways/prod-gw/projects/intern',
    ]);
    const res = await apply(doc, '?pruneUnnamed=true');
    expect(res.status).toBe(200);
    expect(res.body.changes.map((c: Change) => `${c.action} ${c.target}`)).toEqual([
      'disable gateways/prod-gw/projects/intern',
      'disable gateways/lab-gw/projects/notebook',
      'delete gateways/lab-gw',
      'delete resources/lab',
    ]);
    expect((await gw.admin('GET', '/gateways')).body.items.map((g: { name: string }) => g.name)).toEqual(['prod-gw']);
    const intern = (await gw.admin('GET', '/resources/prod/projects/intern')).body;
    expect(intern.gatewayStatus).toBe('disabled');
    expect((await apply(doc, '?prune=true&pruneUnnamed=true')).body.changes).toEqual([]);
  });

  it('refuses a document with problems as a whole, naming each, and changes nothing', async () => {
    const before = (await gw.admin('GET', '/config')).body;
    const doc = {
      version: 1,
      resources: [
        {
          name: 'prod',
          deployments: [{ name: 'chat', provider: 'azure-openai' }],
          projects: ['search', 'search'],
        },
        { name: 'new-one' },
      ],
      gateways: [
        {
          name: 'prod-gw',
          resource: 'new-one',
          projects: ['ghost'],
          limits: [{ project: 'search', deployment: 'nope', tokenQuota: 5 }],
        },
      ],
    };
    const res = await apply(doc);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const message: string = res.body.error.message;
    expect(message).toMatch(/^the config cannot be applied, nothing was changed: /);
    for (const problem of [
      'project in resource "prod" "search" is named twice',
      'resource "prod", deployment "chat": upstreamUrl is required for this provider',
      'gateway "prod-gw": it governs resource "prod"; a gateway\'s resource cannot change',
      'gateway "prod-gw": project "ghost" does not exist in resource "new-one"',
      'deployment "nope" does not exist in resource "new-one"',
      'quotaPeriod is required with tokenQuota',
    ]) {
      expect(message).toContain(problem);
    }
    expect((await gw.admin('GET', '/config')).body).toEqual(before);
  });

  it('checks the document’s shape first, naming the field', async () => {
    const res = await apply({ version: 1, resources: [{ name: 'prod', deployments: [{ name: 'x', provider: 'bedrock' }] }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^resources\.0\.deployments\.0\.provider: must be one of openai, /);
    expect((await apply({ version: 2 })).body.error.message).toBe('version: must be 1');
    expect((await apply({ version: 1, resource: [] })).body.error.message).toBe('unknown field "resource"');
    // Every shape problem at once, not one per attempt.
    const all = await apply({ version: 1, resources: [{ name: 'Bad Name', colour: 'red', deployments: [{ name: 'x' }] }] });
    expect(all.body.error.message).toMatch(/\(and 2 more: .*resources\.0\.deployments\.0\.provider: .*/);
    expect(all.body.error.message).toContain('unknown field "colour"');
  });

  it('lets a role apply only the changes it may make, and says which one it may not', async () => {
    const token = (await gw.admin('POST', '/tokens', { name: 'limits-bot', role: 'gateway-admin' })).body.token as string;
    const doc = (await gw.admin('GET', '/config')).body;
    doc.gateways[0].limits[0].tokensPerMinute = 30_000;
    const ok = await apply(doc, '', token);
    expect(ok.status).toBe(200);
    expect(ok.body.changes).toHaveLength(1);

    doc.resources[0].description = 'changed by the bot';
    const refused = await apply(doc, '', token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/does not allow manage resources, which update resources\/prod needs; nothing was changed/);
    expect((await gw.admin('GET', '/resources/prod')).body.description).toBe('Production');
  });

  it('tells no one who may not set an upstream key whether a guessed one is the stored one', async () => {
    const viewer = (await gw.admin('POST', '/tokens', { name: 'curious', role: 'viewer' })).body.token as string;
    expect((await apply(baseDocument())).status).toBe(200); // stores 'sk-one'
    const answers = [];
    for (const guess of ['sk-one', 'sk-wrong']) {
      const doc = baseDocument();
      doc.resources[0]!.deployments[1]!.upstreamApiKey = guess;
      const res = await apply(doc, '?dryRun=true', viewer);
      answers.push({ status: res.status, body: res.body });
    }
    expect(answers[0]!.status).toBe(403);
    expect(answers[1]).toEqual(answers[0]);
  });
});

describe('config apply, concurrently', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  it('converges when several apply the same document at once: each change is made once', async () => {
    const doc = baseDocument();
    const results = await Promise.all(Array.from({ length: 4 }, () => gw.admin('PUT', '/config', doc)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const made = results.flatMap((r) => r.body.changes.map((c: Change) => `${c.action} ${c.target}`));
    expect(new Set(made).size).toBe(made.length); // no change made twice...
    expect(made).toHaveLength(11); // ...and each made: the 11 a lone apply makes (first test above)
    expect(results.flatMap((r) => r.body.keys).map((k: { project: string }) => k.project).sort()).toEqual(['search', 'support']);
    expect((await gw.admin('PUT', '/config', doc)).body.changes).toEqual([]);
    expect((await gw.admin('GET', '/gateways/prod-gw/limits')).body.items).toHaveLength(2);
  });
});
