import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/controlplane/config/config-file.js';
import { CLI, ROOT, runCli, runCliOk, SLOW } from '../support/cli.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';

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
    expect(again.trim()).toBe("no changes: the gateway matches the file (deployments and projects its resources' lists leave out were not checked: --prune)");
    const rotated = await runCliOk(gw.url, ['config', 'apply', '-f', file], { UPSTREAM_KEY: 'sk-rotated' });
    expect(rotated).toContain('~ update  resources/prod/deployments/gpt-4o (upstreamApiKey: (set) → (set))');
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

describe('tollgate config apply: the truth, every problem, and a yes before removing', () => {
  let gw: TestGateway;
  let dir: string;
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-config-truth-'));
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names every shape problem at once, each with its line and column, and sends nothing', SLOW, async () => {
    const file = write(
      'bad.yaml',
      [
        'version: 1',
        'resources:',
        '  - name: Prod',
        '    colour: blue',
        '    deployments:',
        '      - name: chat',
        '        provider: bedrock',
        'gateways:',
        '  - name: g',
        '    limits:',
        '      - project: p',
        '        tokensPerMinute: -5',
        '',
      ].join('\n'),
    );
    const run = await runCli(gw.url, ['config', 'apply', '-f', file]);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n');
    expect(lines[0]).toMatch(/bad\.yaml: 5 problems, nothing was applied:$/);
    expect(run.stderr).toContain('  line 3, column 5: resources[0].name: must be');
    expect(run.stderr).toContain('  line 4, column 5: resources[0].colour: unknown field');
    expect(run.stderr).toContain('  line 7, column 9: resources[0].deployments[0].provider: must be one of');
    expect(run.stderr).toContain('  line 9, column 5: gateways[0].resource: is required');
    expect(run.stderr).toContain('  line 12, column 9: gateways[0].limits[0].tokensPerMinute: must be greater than 0');
    expect((await gw.admin('GET', '/resources')).body.items).toEqual([]);
  });

  it('removing a limit or the projects from a gateway entry disables and deletes them, after a yes, showing old → new', SLOW, async () => {
    const full = [
      'version: 1',
      'resources:',
      '  - name: team-a',
      '    deployments: [{ name: chat, provider: simulated }]',
      '    projects: [web, batch]',
      'gateways:',
      '  - name: team-a-gw',
      '    resource: team-a',
      '    projects: [web, batch]',
      '    limits:',
      '      - { project: web, tokensPerMinute: 5000 }',
      '      - { project: batch, tokenQuota: 100000, quotaPeriod: daily }',
      '',
    ].join('\n');
    await runCliOk(gw.url, ['config', 'apply', '-f', write('team-a.yaml', full)]);
    // Another team's resource, not in this file: --prune leaves it alone.
    await gw.admin('POST', '/resources', { name: 'team-b' });

    const changed = write(
      'team-a.yaml',
      full.replace('tokensPerMinute: 5000', 'tokensPerMinute: 8000').replace('      - { project: batch, tokenQuota: 100000, quotaPeriod: daily }\n', '').replace('projects: [web, batch]\n    limits', 'projects: []\n    limits'),
    );
    const dry = await runCliOk(gw.url, ['config', 'apply', '-f', changed, '--prune', '--dry-run']);
    expect(dry).toContain('~ update  gateways/team-a-gw/limits/web/* (tokensPerMinute: 5000 → 8000)');
    expect(dry).toContain('- delete  gateways/team-a-gw/limits/batch/* (tokenQuota: was 100000, quotaPeriod: was daily)');
    expect(dry).toContain('- disable gateways/team-a-gw/projects/web (gatewayStatus: enabled → disabled)');
    expect(dry).toContain('- disable gateways/team-a-gw/projects/batch (gatewayStatus: enabled → disabled)');
    expect(dry).not.toContain('team-b');

    // Not a terminal and no --yes: refused, naming what it would remove, and nothing changes.
    const refused = await runCli(gw.url, ['config', 'apply', '-f', changed, '--prune']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('- delete  gateways/team-a-gw/limits/batch/*');
    expect(refused.stderr).toContain('3 changes delete or disable something');
    expect(refused.stderr).toContain('Pass --yes to apply it without asking');
    expect((await gw.admin('GET', '/gateways/team-a-gw/limits')).body.items).toHaveLength(2);

    const applied = await runCliOk(gw.url, ['config', 'apply', '-f', changed, '--prune', '--yes']);
    expect(applied).toMatch(/1 updated, 1 deleted, 2 disabled/);
    expect((await gw.admin('GET', '/gateways/team-a-gw/limits')).body.items).toHaveLength(1);
    const projects = (await gw.admin('GET', '/resources/team-a/projects')).body.items as { gatewayStatus: string }[];
    expect(projects.map((p) => p.gatewayStatus)).toEqual(['disabled', 'disabled']);
    expect((await gw.admin('GET', '/resources/team-b')).status).toBe(200);
    // An apply that removes nothing needs no yes.
    expect(await runCliOk(gw.url, ['config', 'apply', '-f', changed])).toMatch(/^no changes/);
  });

  /** The CLI on a terminal (a pseudo-terminal from util-linux `script`), answering its question with `answer`. */
  function onTerminal(args: string[], answer: string): Promise<{ code: number | null; out: string }> {
    const command = [process.execPath, ...CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        cwd: ROOT,
        env: { ...process.env, TOLLGATE_URL: gw.url, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let answered = false;
      const read = (chunk: Buffer) => {
        out += chunk.toString();
        if (!answered && out.includes('[y/N]')) {
          answered = true;
          child.stdin.write(`${answer}\n`);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) => resolve({ code, out }));
      child.once('error', reject);
    });
  }

  it.skipIf(spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status !== 0)(
    'on a terminal, shows the plan and asks before removing: no keeps everything, yes applies',
    SLOW,
    async () => {
      await gw.admin('POST', '/gateways/team-a-gw/limits', { project: 'web', deployment: 'chat', tokensPerMinute: 100 });
      const file = join(dir, 'team-a.yaml');
      const no = await onTerminal(['config', 'apply', '-f', file], 'n');
      expect(no.out).toContain('- delete  gateways/team-a-gw/limits/web/chat (tokensPerMinute: was 100)');
      expect(no.out).toContain('1 change deletes or disables something. Apply these 1 change(s)? [y/N]');
      expect(no.out).toContain('nothing was changed');
      expect((await gw.admin('GET', '/gateways/team-a-gw/limits')).body.items).toHaveLength(2);

      const yes = await onTerminal(['config', 'apply', '-f', file], 'y');
      expect(yes.code).toBe(0);
      expect(yes.out).toMatch(/\n1 deleted/);
      expect((await gw.admin('GET', '/gateways/team-a-gw/limits')).body.items).toHaveLength(1);
    },
  );
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
    expect(bad.out).toMatch(/tollgate\.yaml: 1 problem, nothing was applied:\n {2}line 7, column 9: resources\[0\]\.deployments\[0\]\.provider: must be one of/);
  });
});
