import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView, LimitView } from '../../src/controlplane/views.js';
import { runCli, runCliOk, SLOW, type Run } from '../support/cli.js';
import { startGateway, type TestGateway } from '../support/harness.js';

let gw: TestGateway;

const tollgate = (args: string[], env: Record<string, string | undefined> = {}): Promise<Run> => runCli(gw.url, args, env);
const ok = (args: string[], env?: Record<string, string | undefined>): Promise<string> => runCliOk(gw.url, args, env);

const lines = (text: string) => text.trimEnd().split('\n');
/** A table's cells: columns are separated by two or more spaces. */
const table = (text: string) => lines(text).map((line) => line.trim().split(/ {2,}/));

function chat(key: string) {
  return fetch(`${gw.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'Hello' }] }),
  });
}

beforeAll(async () => {
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.close();
});

describe('tollgate admin commands', () => {
  let primaryKey = '';
  let quotaLimitId = '';

  it('lists the admin commands in --help and exits 0', async () => {
    const help = await ok(['--help']);
    for (const command of ['instances', 'resources', 'deployments', 'projects', 'keys', 'gateways', 'limits', 'tokens', 'audit', 'admin-token']) {
      expect(help).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('creates a resource, a simulated deployment, a gateway on a new instance and a project', SLOW, async () => {
    expect(await ok(['resources', 'create', 'r1', '--description', 'the demo'])).toBe('created resource "r1"\n');

    const deployment = JSON.parse(
      await ok(['deployments', 'create', 'sim-chat', '--resource', 'r1', '--provider', 'simulated', '--option', 'latencyMs=0', '--json']),
    ) as DeploymentView;
    expect(deployment).toMatchObject({ name: 'sim-chat', resource: 'r1', provider: 'simulated', options: { latencyMs: 0 } });

    expect(await ok(['gateways', 'create', 'gw1', '--resource', 'r1'])).toBe('created gateway "gw1" for resource "r1" on new instance "gw1"\n');
    const gateways = table(await ok(['gateways', 'list']));
    expect(gateways[0]).toEqual(['NAME', 'RESOURCE', 'INSTANCE', 'STATUS', 'CREATED']);
    expect(gateways[1]!.slice(0, 3)).toEqual(['gw1', 'r1', 'gw1']);

    const created = await ok(['projects', 'create', 'p1', '--resource', 'r1']);
    const primary = /^primary key: +(tgk_\S+)$/m.exec(created)?.[1];
    const secondary = /^secondary key: +(tgk_\S+)$/m.exec(created)?.[1];
    expect(primary).toBeDefined();
    expect(secondary).toBeDefined();
    expect(created).toContain('shown only this once');
    primaryKey = primary!;
    // The printed keys are the real ones: the project joined the gateway and its key is accepted.
    expect((await chat(primaryKey)).status).toBe(200);
    expect((await chat(secondary!)).status).toBe(200);
  });

  it('merges --option into the current options on deployments update', async () => {
    const updated = JSON.parse(
      await ok(['deployments', 'update', 'sim-chat', '--resource', 'r1', '--option', 'chunkDelayMs=0', '--default-completion-reservation', '64', '--json']),
    ) as DeploymentView;
    expect(updated.options).toEqual({ latencyMs: 0, chunkDelayMs: 0 });
    expect(updated.defaultCompletionReservation).toBe(64);
  });

  it('creates, lists, updates and deletes limits', SLOW, async () => {
    const tpm = JSON.parse(await ok(['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--tpm', '1000', '--json'])) as LimitView;
    expect(tpm).toMatchObject({ project: 'p1', deployment: null, tokensPerMinute: 1000, tokenQuota: null, quotaPeriod: null });

    const quota = table(
      await ok(['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--deployment', 'sim-chat', '--quota', '5000', '--period', 'daily']),
    );
    expect(quota[0]).toEqual(['ID', 'PROJECT', 'DEPLOYMENT', 'TPM', 'QUOTA', 'PERIOD']);
    expect(quota[1]!.slice(1)).toEqual(['p1', 'sim-chat', '-', '5000', 'daily']);
    quotaLimitId = quota[1]![0]!;

    const listed = table(await ok(['limits', 'list', '--gateway', 'gw1']));
    expect(listed[0]).toEqual(['ID', 'PROJECT', 'DEPLOYMENT', 'TPM', 'QUOTA', 'PERIOD']);
    expect(listed.slice(1)).toEqual(
      expect.arrayContaining([
        [tpm.id, 'p1', '(all)', '1000', '-', '-'],
        [quotaLimitId, 'p1', 'sim-chat', '-', '5000', 'daily'],
      ]),
    );

    const updated = JSON.parse(
      await ok(['limits', 'update', tpm.id, '--gateway', 'gw1', '--tpm', 'none', '--quota', '100', '--period', 'hourly', '--json']),
    ) as LimitView;
    expect(updated).toMatchObject({ id: tpm.id, tokensPerMinute: null, tokenQuota: 100, quotaPeriod: 'hourly' });

    expect(await ok(['limits', 'delete', tpm.id, '--gateway', 'gw1'])).toBe(`deleted limit ${tpm.id} from gateway "gw1"\n`);
    const remaining = JSON.parse(await ok(['limits', 'list', '--gateway', 'gw1', '--json'])) as { items: LimitView[] };
    expect(remaining.items.map((l) => l.id)).toEqual([quotaLimitId]);
  });

  it('disables a project on a gateway and adds it back', SLOW, async () => {
    expect(await ok(['projects', 'disable', 'p1', '--gateway', 'gw1'])).toBe('project "p1" is disabled on gateway "gw1"\n');
    expect(table(await ok(['gateways', 'projects', 'gw1']))).toEqual([
      ['PROJECT', 'STATUS', 'LIMIT'],
      ['p1', 'disabled', '-'],
    ]);
    expect((await chat(primaryKey)).status).toBe(403);

    expect(await ok(['projects', 'add-to-gateway', 'p1', '--gateway', 'gw1'])).toBe('project "p1" is enabled on gateway "gw1"\n');
    expect((await gw.admin('GET', '/resources/r1/projects/p1')).body).toMatchObject({ gatewayStatus: 'enabled' });
  });

  it('regenerates a key: prints the new one, the old one stops working', async () => {
    const run = await tollgate(['keys', 'regenerate', 'p1', '--resource', 'r1']);
    expect(run.code).toBe(0);
    const key = run.stdout.trim();
    expect(key).toMatch(/^tgk_\S+$/);
    expect(key).not.toBe(primaryKey);
    expect(run.stderr).toContain('new primary key for project "p1"');
    expect((await chat(primaryKey)).status).toBe(401);
    expect((await chat(key)).status).toBe(200);
  });

  it('creates, uses and deletes an admin token; shows the audit log', SLOW, async () => {
    const created = await tollgate(['tokens', 'create', '--name', 'ci', '--role', 'viewer']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tga_\S+$/);

    const forbidden = await tollgate(['resources', 'create', 'r2'], { TOLLGATE_ADMIN_TOKEN: token });
    expect(forbidden.code).toBe(1);
    expect(lines(forbidden.stderr)).toEqual([expect.stringMatching(/^tollgate: the viewer role .* \(forbidden\)$/)]);

    const tokens = table(await ok(['tokens', 'list']));
    expect(tokens[0]).toEqual(['ID', 'NAME', 'ROLE', 'RESOURCES', 'HINT', 'CREATED']);
    const row = tokens.find((cells) => cells[1] === 'ci');
    expect(row?.slice(2, 4)).toEqual(['viewer', '-']);
    expect(await ok(['tokens', 'delete', row![0]!])).toBe(`deleted admin token ${row![0]}\n`);

    const audit = await tollgate(['audit', '--limit', '2']);
    expect(audit.code).toBe(0);
    expect(table(audit.stdout)).toEqual([
      ['AT', 'ACTOR', 'ACTION', 'TARGET', 'CHANGE'],
      [expect.any(String), 'env:TOLLGATE_ADMIN_TOKEN', 'admin-token.delete', `tokens/${row![0]}`, 'name was ci; role was viewer; resources was none'],
      [expect.any(String), 'env:TOLLGATE_ADMIN_TOKEN', 'admin-token.create', `tokens/${row![0]}`, 'name ci; role viewer'],
    ]);
    expect(audit.stderr).toMatch(/^more entries: tollgate audit --before aud_\S+\n$/);
  });
});

describe('tollgate admin command failures', () => {
  it('turns API errors into one line with the error code and exit code 1', SLOW, async () => {
    const [conflict, missing, limitExists] = await Promise.all([
      tollgate(['resources', 'create', 'r1']),
      tollgate(['deployments', 'list', '--resource', 'nope']),
      tollgate(['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--deployment', 'sim-chat', '--tpm', '5']),
    ]);
    expect(conflict).toEqual({ code: 1, stdout: '', stderr: 'tollgate: resource "r1" already exists (already_exists)\n' });
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'tollgate: resource "nope" does not exist (not_found)\n' });
    expect(limitExists.code).toBe(1);
    expect(lines(limitExists.stderr)).toEqual([expect.stringMatching(/^tollgate: project "p1" already has a limit .* \(limit_exists\)$/)]);
  });

  it('rejects bad flag values before calling the API', SLOW, async () => {
    const [badNumber, badChoice] = await Promise.all([
      tollgate(['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--tpm', 'abc']),
      tollgate(['keys', 'regenerate', 'p1', '--resource', 'r1', '--slot', 'tertiary']),
    ]);
    expect(badNumber.code).not.toBe(0);
    // Commander's reason on exactly one line; no stack trace.
    expect(lines(badNumber.stderr)).toEqual([
      "error: option '--tpm <n>' argument 'abc' is invalid. --tpm must be a whole number from 1 to 9007199254740991.",
    ]);
    expect(badChoice.code).not.toBe(0);
    expect(lines(badChoice.stderr)[0]).toContain('Allowed choices are primary, secondary.');
  });

  it('needs an admin token', async () => {
    const run = await tollgate(['gateways', 'list'], { TOLLGATE_ADMIN_TOKEN: undefined });
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no admin token: pass --token or set TOLLGATE_ADMIN_TOKEN\n' });
  });

  it('names the URL and hints at starting the gateway when the connection is refused', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));

    const url = `http://127.0.0.1:${port}`;
    const run = await tollgate(['resources', 'list', '--url', url]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([`tollgate: cannot connect to ${url} (connection refused): is the gateway running? (tollgate start)`]);
  });
});

describe('tollgate admin-token create', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  let second: TestGateway | undefined;

  afterAll(async () => {
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a token in the data directory that a gateway on it accepts', SLOW, async () => {
    const created = await tollgate(['admin-token', 'create', '--data-dir', dataDir, '--name', 'recovery']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tga_\S+$/);

    second = await startGateway({ dataDir, adminToken: undefined });
    const run = await tollgate(['gateways', 'list'], { TOLLGATE_URL: second.url, TOLLGATE_ADMIN_TOKEN: token });
    expect(run).toEqual({
      code: 0,
      stdout: 'no gateways yet — create one with: tollgate gateways create <name> --resource <resource> [--instance <instance>]\n',
      stderr: '',
    });
  });
});
