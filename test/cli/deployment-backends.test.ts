import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../src/controlplane/api-types.js';
import { runCli, runCliOk, SLOW, type Run } from '../support/cli.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';

let gw: TestGateway;

const tollgate = (args: string[], env: Record<string, string | undefined> = {}): Promise<Run> => runCli(gw.url, args, env);
const ok = (args: string[], env?: Record<string, string | undefined>): Promise<string> => runCliOk(gw.url, args, env);
const json = async (args: string[], env?: Record<string, string | undefined>) => JSON.parse(await ok([...args, '--json'], env)) as DeploymentView;

/** The stored deployment, straight from the admin API. */
async function stored(name: string): Promise<DeploymentView> {
  const res = await fetch(`${gw.url}/admin/v1/resources/r1/deployments/${name}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return (await res.json()) as DeploymentView;
}

beforeAll(async () => {
  gw = await startGateway();
  await runCliOk(gw.url, ['resources', 'create', 'r1']);
});

afterAll(async () => {
  await gw?.close();
});

describe('tollgate deployments with backends', () => {
  it('creates a pool from repeated --backend, keys from the environment, with retry and breaker settings', SLOW, async () => {
    const created = await json(
      [
        'deployments',
        'create',
        'pool',
        '--resource',
        'r1',
        '--provider',
        'openai-compatible',
        '--backend',
        'name=east,url=http://127.0.0.1:9/v1,priority=1,weight=2,key-env=EAST_KEY',
        '--backend',
        'name=west,url=http://127.0.0.1:10/v1,priority=2,model=gpt-west',
        '--retry-attempts',
        '2',
        '--breaker-failures',
        '3',
        '--breaker-interval',
        '20',
        '--breaker-trip',
        '15',
        '--no-accept-retry-after',
      ],
      { EAST_KEY: 'sk-east-secret' },
    );
    expect(created.backends).toEqual([
      expect.objectContaining({ name: 'east', upstreamUrl: 'http://127.0.0.1:9/v1', priority: 1, weight: 2, hasUpstreamApiKey: true }),
      expect.objectContaining({ name: 'west', upstreamUrl: 'http://127.0.0.1:10/v1', priority: 2, weight: 1, upstreamModel: 'gpt-west', hasUpstreamApiKey: false }),
    ]);
    expect(created.retry).toEqual({ attempts: 2 });
    expect(created.circuitBreaker).toEqual({ failures: 3, intervalSeconds: 20, tripSeconds: 15, acceptRetryAfter: false });
    expect(JSON.stringify(created)).not.toContain('sk-east-secret');
  });

  it('shows the backends without keys, in show and in the listing', SLOW, async () => {
    const shown = await ok(['deployments', 'show', 'pool', '--resource', 'r1']);
    expect(shown).toMatch(/^provider: +openai-compatible$/m);
    expect(shown).toMatch(/^circuit breaker: +\{"failures":3,/m);
    const rows = shown
      .trimEnd()
      .split('\n')
      .filter((line) => /^(BACKEND|east|west)\b/.test(line))
      .map((line) => line.trim().split(/ {2,}/));
    expect(rows).toEqual([
      ['BACKEND', 'PRIORITY', 'WEIGHT', 'PROVIDER', 'MODEL', 'API-VERSION', 'API-KEY', 'URL'],
      ['east', '1', '2', '-', '-', '-', 'set', 'http://127.0.0.1:9/v1'],
      ['west', '2', '1', '-', 'gpt-west', '-', '-', 'http://127.0.0.1:10/v1'],
    ]);
    expect(shown).not.toContain('sk-east-secret');
    const listed = await ok(['deployments', 'list', '--resource', 'r1']);
    expect(listed).toMatch(/^pool +openai-compatible .*2 backends/m);
  });

  it('refuses a key on the command line and an unset key-env, sending nothing', SLOW, async () => {
    const inline = await tollgate(['deployments', 'create', 'leak', '--resource', 'r1', '--provider', 'openai-compatible', '--backend', 'name=a,url=http://x/v1,key=sk-1']);
    expect(inline.code).not.toBe(0);
    expect(inline.stderr).toContain('key-env=VAR');
    const unset = await tollgate(
      ['deployments', 'create', 'leak', '--resource', 'r1', '--provider', 'openai-compatible', '--backend', 'name=a,url=http://x/v1,key-env=NOPE_KEY'],
      { NOPE_KEY: undefined },
    );
    expect(unset.code).not.toBe(0);
    expect(unset.stderr).toContain('NOPE_KEY');
    const missing = await fetch(`${gw.url}/admin/v1/resources/r1/deployments/leak`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(missing.status).toBe(404);
  });

  it('updates the pool: the breaker merges, a backend named as before keeps its key, --no-backends returns to one upstream', SLOW, async () => {
    await ok(['deployments', 'update', 'pool', '--resource', 'r1', '--breaker-trip', '40']);
    expect((await stored('pool')).circuitBreaker).toEqual({ failures: 3, intervalSeconds: 20, tripSeconds: 40, acceptRetryAfter: false });

    await ok(['deployments', 'update', 'pool', '--resource', 'r1', '--backend', 'name=east,url=http://127.0.0.1:9/v1,weight=5', '--backend', 'name=north,url=http://127.0.0.1:11/v1']);
    const replaced = await stored('pool');
    expect(replaced.backends?.map((b) => [b.name, b.weight, b.hasUpstreamApiKey])).toEqual([
      ['east', 5, true],
      ['north', 1, false],
    ]);
    expect(replaced.retry).toEqual({ attempts: 2 });

    await ok(['deployments', 'update', 'pool', '--resource', 'r1', '--no-backends', '--upstream-url', 'http://127.0.0.1:12/v1']);
    const single = await stored('pool');
    expect(single.backends).toBeUndefined();
    expect(single.upstreamUrl).toBe('http://127.0.0.1:12/v1');
  });
});
