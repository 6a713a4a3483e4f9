import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/controlplane/config/config-file.js';
import { CLI, ROOT, runCli, runCliOk, SLOW } from '../support/cli.js';
import { startGateway, type TestGateway } from '../support/harness.js';

const FILE = `# The platform team's gateway, kept in git.
version: 1
resources:
  - name: prod
    deployments:
      - name: chat
        provider: simulated
      - name: gpt-4o
        provider: openai-compatible
        upstreamUrl: http://127.0.0.1:9/v1
        upstreamApiKey: \${UPSTREAM_KEY}
    projects: [search]
gateways:
  - name: prod-gw
    resource: prod
    projects: [search]
    limits:
      - project: search
        tokensPerMinute: 50000
`;

describe('tollgate config export | apply', () => {
  let gw: TestGateway;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    file = join(dir, 'tollgate.yaml');
    writeFileSync(file, FILE);
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a YAML file with ${VAR} filled from the environment: dry run first, then for real', SLOW, async () => {
    const dry = await runCliOk(gw.url, ['config', 'apply', '-f', file, '--dry-run'], { UPSTREAM_KEY: 'sk-from-env' });
    expect(dry).toContain('+ create  resources/prod/deployments/gpt-4o');
    expect(dry).toMatch(/\n6 to create, 1 to enable — dry run: nothing was changed\n$/);
    expect((await gw.admin('GET', '/resources')).body.items).toEqual([]);

    const applied = await runCliOk(gw.url, ['config', 'apply', '-f', file], { UPSTREAM_KEY: 'sk-from-env' });
    expect(applied).toMatch(/\n6 created, 1 enabled\n/);
    expect(applied).toMatch(/project keys \(shown only this once; store them now\):\n {2}prod\/search {2}primary tgk_\S+ {2}secondary tgk_\S+/);
    expect((await gw.admin('GET', '/resources/prod/deployments/gpt-4o')).body.hasUpstreamApiKey).toBe(true);

    const again = await runCliOk(gw.url, ['config', 'apply', '-f', file], { UPSTREAM_KEY: 'sk-from-env' });
    expect(again.trim()).toBe('no changes: the gateway matches the file (what it does not name was not checked: --prune)');
    const rotated = await runCliOk(gw.url, ['config', 'apply', '-f', file], { UPSTREAM_KEY: 'sk-rotated' });
    expect(rotated).toContain('~ update  resources/prod/deployments/gpt-4o (upstreamApiKey)');
  });

  it('refuses a file whose variable is unset, or that is not valid YAML, before calling the gateway', SLOW, async () => {
    const unset = await runCli(gw.url, ['config', 'apply', '-f', file], { UPSTREAM_KEY: undefined });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('resources[0].deployments[1].upstreamApiKey refers to ${UPSTREAM_KEY}, but the environment variable UPSTREAM_KEY is not set');

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nresources:\n  - name: [unclosed\n');
    const bad = await runCli(gw.url, ['config', 'apply', '-f', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.yaml: Flow sequence .* at line 4, column 1/);

    const missing = await runCli(gw.url, ['config', 'apply', '-f', join(dir, 'nope.yaml')]);
    expect(missing.stderr).toContain('nope.yaml: no such file');
  });

  it('exports YAML that applies back as no change, and reports problems the gateway finds', SLOW, async () => {
    const exported = join(dir, 'exported.yaml');
    await runCliOk(gw.url, ['config', 'export', '-o', exported]);
    const text = readFileSync(exported, 'utf8');
    expect(text).toMatch(/^# Tollgate configuration/);
    expect(parse(text)).toMatchObject({ version: 1, gateways: [{ name: 'prod-gw', instance: 'prod-gw', limits: [{ project: 'search', tokensPerMinute: 50000 }] }] });
    const again = await runCliOk(gw.url, ['config', 'apply', '-f', exported, '--prune']);
    expect(again.trim()).toBe('no changes: the gateway matches the file');

    writeFileSync(exported, text.replace('tokensPerMinute: 50000', 'tokenQuota: 100'));
    const refused = await runCli(gw.url, ['config', 'apply', '-f', exported]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nothing was changed: gateway "prod-gw", limit for project "search" on all deployments: quotaPeriod is required with tokenQuota');
  });
});

describe('config file text', () => {
  it('fills ${VAR}, keeps $${VAR} literal, and reads JSON as well as YAML', () => {
    const env = { A: 'one', B: 'two' };
    expect(parseConfigText('x: "${A}-${B}"\ny: $${A}\n', 'f.yaml', env)).toEqual({ x: 'one-two', y: '${A}' });
    expect(parseConfigText('{"version": 1, "k": ["${A}"]}', 'f.json', env)).toEqual({ version: 1, k: ['one'] });
    expect(() => parseConfigText('a: 1\na: 2\n', 'f.yaml', env)).toThrow(/f\.yaml: Map keys must be unique/);
  });
});

describe('tollgate start --config', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts `tollgate start` and resolves with its output once it serves (or has exited). */
  function start(args: string[], env: Record<string, string>): Promise<{ out: string; code: number | null; stop: () => Promise<void> }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...CLI, 'start', '--port', '0', '--host', '127.0.0.1', ...args], {
        cwd: ROOT,
        env: { ...process.env, TOLLGATE_LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const stop = () => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM'))));
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Tollgate is running at')) resolve({ out, code: null, stop });
      });
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (code) => resolve({ out, code, stop }));
      child.once('error', reject);
    });
  }

  it('applies the file before serving, and refuses to start on a bad one', SLOW, async () => {
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(file, FILE);
    const env = { UPSTREAM_KEY: 'sk-x', TOLLGATE_DATA_DIR: join(dir, 'data'), TOLLGATE_ADMIN_TOKEN: 'tga_start-config-test-token' };
    const first = await start(['--config', file], env);
    try {
      expect(first.code).toBeNull();
      expect(first.out).toMatch(/config .*tollgate\.yaml: 7 change\(s\) applied\n {2}create resources\/prod\n/);
      expect(first.out).toMatch(/project key of prod\/search \(shown once\): primary tgk_/);
      const url = /Tollgate is running at (\S+)/.exec(first.out)![1]!;
      const limits = await fetch(`${url}/admin/v1/gateways/prod-gw/limits`, { headers: { authorization: 'Bearer tga_start-config-test-token' } });
      expect(((await limits.json()) as { items: unknown[] }).items).toHaveLength(1);
    } finally {
      await first.stop();
    }

    const second = await start([], { ...env, TOLLGATE_CONFIG_FILE: file });
    await second.stop();
    expect(second.out).toMatch(/tollgate\.yaml: no changes/);

    writeFileSync(file, FILE.replace('provider: simulated', 'provider: bedrock'));
    const bad = await start(['--config', file], env);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/tollgate\.yaml: resources\.0\.deployments\.0\.provider: must be one of/);
  });
});
