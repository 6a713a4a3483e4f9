/**
 * What does Tollgate add on top of the model? One run, four targets in front of the same fixed
 * fake OpenAI upstream (nginx): (a) the upstream directly, (b) nginx as a reverse proxy,
 * (c) Tollgate with a TPM limit and a quota that never trip, (d) Tollgate with no limits. wrk on
 * CPU 0, every server on CPU 1. Prints (and writes to bench/results/latest.md) the table of RPS,
 * latency added, RPS ratio and server CPU per request; a streaming time-to-first-byte probe; and a
 * scaling check with 10,000 projects.
 *
 *   npm run bench [-- --duration 5] [--quick] [--only json|sse] [--scaling | --no-scaling]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from 'undici';
import { installSignalHandlers, stopAll, track, trackDir } from './lib/children.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { ensureTools, freePort, proxyConfig, startNginx, upstreamConfig, type NginxProcess } from './lib/nginx.js';
import { cpuMicros, machineInfo, vmBytes } from './lib/proc.js';
import {
  aggregate,
  markdown,
  MODE_LABEL,
  rpsOf,
  TARGET_IDS,
  TARGET_LABEL,
  type Aggregate,
  type Measurement,
  type MemoryBreakdown,
  type Mode,
  type Report,
  type ScalingResult,
  type ScalingRow,
  type TargetId,
  type TtfbRow,
} from './lib/report.js';
import { JSON_MODEL, seedBench, seedManyProjects, seedManyProjectsDirect, SSE_MODEL, waitForKey } from './lib/seed.js';
import { fmt, mib } from './lib/stats.js';
import { probeTtfb, singleConnection } from './lib/ttfb.js';
import { requestBody, UPSTREAM_JSON_PATH, UPSTREAM_SSE_PATH } from './lib/upstream.js';
import { errorsOf, runWrk } from './lib/wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.chdir(ROOT);

const USAGE = `usage: npm run bench -- [options]
  --duration <s>     seconds per measurement (default 5)
  --quick            1 s per measurement and fewer samples: a smoke run
  --only json|sse    only non-streaming or only streaming (json includes the scaling check, sse the TTFB probe)
  --scaling          only the scaling check (many projects vs one)
  --no-scaling       skip the scaling check
  --connections <l>  comma-separated connection counts for the matrix (default 1,16,64)
  --pause <ms>       below saturation: 16 connections, each pausing this long on average after each
                     response (default 5; 0 skips it); non-streaming
  --node-args <a>    node flags for the Tollgate processes, e.g. "--max-old-space-size=128"
  --projects <n>     projects for the scaling check (default 10000; 1000 with --quick)
  --api-seed <n>     of those, how many to create through the admin API (default 500; the rest go through the store)
  --build            always run \`npm run build\` first (default: only when dist/ is missing or older than src/)
  --no-build         never build
  --nice=<n>         run servers, wrk and the runner at this nice level (e.g. --nice=-10; negative needs root):
                     on a shared machine it keeps other work from disturbing the tail latencies
  --out <file>       markdown results (default bench/results/latest.md)`;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    scaling: { type: 'boolean', default: false },
    'no-scaling': { type: 'boolean', default: false },
    connections: { type: 'string', default: '1,16,64' },
    pause: { type: 'string', default: '5' },
    'node-args': { type: 'string', default: '' },
    projects: { type: 'string' },
    'api-seed': { type: 'string', default: '500' },
    build: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    nice: { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.md' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (opts.only !== undefined && opts.only !== 'json' && opts.only !== 'sse') throw new Error(`--only must be json or sse\n${USAGE}`);
if (opts.scaling && opts['no-scaling']) throw new Error('--scaling and --no-scaling exclude each other');

const quick = opts.quick;
const SECONDS = quick ? 1 : Number(opts.duration);
if (!Number.isInteger(SECONDS) || SECONDS < 1) throw new Error('--duration must be a whole number of seconds ≥ 1 (wrk counts in seconds)');
const CONNECTIONS = opts.connections.split(',').map(Number);
if (CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--connections must list whole numbers ≥ 1, e.g. 1,16,64');
const NODE_ARGS = opts['node-args'].split(' ').filter(Boolean);
const PAUSE_MS = Number(opts.pause);
if (!Number.isInteger(PAUSE_MS) || PAUSE_MS < 0) throw new Error('--pause must be a whole number of milliseconds ≥ 0 (wrk counts in ms)');
const PACED_CONNECTIONS = 16;
const MODES: Mode[] = opts.only ? [opts.only as Mode] : ['json', 'sse'];
const MATRIX = !opts.scaling;
const SCALING = !opts['no-scaling'] && MODES.includes('json');
const TTFB = MATRIX && MODES.includes('sse');
const PROJECTS = Number(opts.projects ?? (quick ? 1000 : 10_000));
const API_SEED = Math.min(Number(opts['api-seed']), PROJECTS - 1);
const TTFB_REQUESTS = quick ? 60 : 300;
const TTFB_WARMUP = quick ? 20 : 50;
const SCALING_CONNECTIONS = 16;
/** Seeding through the admin API stops here; the rest of the projects are not created. */
const SEED_BUDGET_MS = 180_000;

// Pin: this runner (and wrk, which it starts) on CPU 0; every server on CPU 1.
const CPUS = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
const LOAD_CPU = CPUS >= 2 ? 0 : undefined;
const SERVER_CPU = CPUS >= 2 ? 1 : undefined;

const NICE = opts.nice === undefined ? undefined : Number(opts.nice);
if (NICE !== undefined && (!Number.isInteger(NICE) || NICE < -20 || NICE > 19)) throw new Error('--nice must be an integer from -20 to 19');
/** Run under `nice -n` when asked: every thread of the started processes inherits it. */
const PREFIX = NICE === undefined ? [] : ['nice', '-n', String(NICE)];

const notes: string[] = [];
const log = (line: string) => console.log(line);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(): void {
  const bin = 'dist/cli/bin.js';
  if (opts['no-build']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build (or drop --no-build)`);
    return;
  }
  const stale = !existsSync(bin) || newestMtime('src') > statSync(bin).mtimeMs;
  if (!opts.build && !stale) {
    log('dist/ is up to date with src/: not rebuilding (--build forces it)');
    return;
  }
  log('building: npm run build ...');
  const r = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (r.status !== 0) {
    if (!existsSync(bin)) throw new Error('npm run build failed and there is no dist/ to measure');
    const note = 'npm run build failed (type errors in src/?); measured the dist/ that was there';
    notes.push(note);
    log(`WARNING: ${note}`);
  }
}

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
    return `commit ${head}${dirty ? ` + ${dirty} uncommitted change(s) in src/` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

interface Target {
  id: TargetId;
  origin: string;
  path: Record<Mode, string>;
  keysFile: string;
  /** Processes whose CPU is this target's (the nginx workers, the gateway). */
  cpuPids: number[];
  /** The Tollgate process, for its RSS. */
  gateway: GatewayProcess | null;
  key: string;
}

interface Setup {
  work: string;
  bodyFile: Record<Mode, string>;
  upstream: NginxProcess;
  proxy: NginxProcess | null;
  gateways: GatewayProcess[];
  targets: Target[];
}

const keysFileFor = (work: string, name: string, keys: readonly string[]) => {
  const file = path.join(work, `keys-${name}.txt`);
  writeFileSync(file, keys.join('\n') + '\n');
  return file;
};

async function startGateway(port: number): Promise<GatewayProcess> {
  return startGatewayProcess(port, {}, {
    cpu: SERVER_CPU,
    prefix: PREFIX,
    nodeArgs: NODE_ARGS,
    onSpawn: (child, dataDir) => {
      track(child);
      trackDir(dataDir);
    },
  });
}

/** One wrk run with the CPU of the target's server processes and of the upstream read around it. */
async function measure(
  setup: Setup,
  t: Target,
  mode: Mode,
  connections: number,
  seconds: number,
  keysFile = t.keysFile,
  pauseMs = 0,
): Promise<Measurement> {
  const upstreamPids = setup.upstream.workers;
  // The other servers on CPU 1 should be idle meanwhile; their CPU says how much they were not.
  const others = serverPids(setup).filter((pid) => !t.cpuPids.includes(pid) && !upstreamPids.includes(pid));
  const cpu0 = cpuMicros(t.cpuPids);
  const up0 = cpuMicros(upstreamPids);
  const others0 = cpuMicros(others);
  const wrk = await runWrk({ origin: t.origin, path: t.path[mode], bodyFile: setup.bodyFile[mode], keysFile, connections, seconds, cpu: LOAD_CPU, prefix: PREFIX, pauseMs });
  const cpuUs = cpuMicros(t.cpuPids) - cpu0;
  const upstreamCpuUs = cpuMicros(upstreamPids) - up0;
  const othersCpuUs = cpuMicros(others) - others0;
  const hwmBytes = t.gateway ? vmBytes(t.gateway.pid, 'VmHWM') : null;
  await sleep(200); // let connections close before the next target starts
  return { target: t.id, mode, connections, wrk, cpuUs, upstreamCpuUs, othersCpuUs, hwmBytes };
}

/** Every server process on CPU 1: the nginx workers and the gateways. */
function serverPids(setup: Setup): number[] {
  return [...setup.upstream.workers, ...(setup.proxy?.workers ?? []), ...setup.gateways.map((g) => g.pid)];
}

function describe(m: Measurement, label: string = TARGET_LABEL[m.target]): string {
  const w = m.wrk;
  const errs = errorsOf(w) + w.non2xx;
  return (
    `  ${MODE_LABEL[m.mode].padEnd(13)} c=${String(m.connections).padEnd(3)} ${label.padEnd(26)} ${fmt(rpsOf(w)).padStart(6)} req/s  ` +
    `p50 ${fmt(w.p50Us).padStart(6)} µs  p99 ${fmt(w.p99Us).padStart(7)} µs  CPU ${fmt(m.cpuUs / w.requests, 1).padStart(6)} µs/req` +
    (m.hwmBytes !== null ? `  peak RSS ${mib(m.hwmBytes)} MiB` : '') +
    `  idle servers ${fmt((100 * m.othersCpuUs) / m.wrk.durationUs, 1)}% CPU` +
    (errs ? `  ERRORS: ${errorsOf(w)} socket, ${w.non2xx} non-2xx` : '')
  );
}

/** One request per target and mode before measuring: a wrong set-up must not produce numbers. */
async function sanityCheck(setup: Setup): Promise<void> {
  for (const t of setup.targets) {
    for (const mode of MODES) {
      const res = await fetch(`${t.origin}${t.path[mode]}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
        body: requestBody(mode === 'json' ? JSON_MODEL : SSE_MODEL, mode === 'sse'),
      });
      const text = await res.text();
      const problem =
        res.status !== 200
          ? `status ${res.status}: ${text.slice(0, 300)}`
          : mode === 'json' && !text.includes('"usage"')
            ? 'no usage in the JSON answer'
            : mode === 'sse' && !text.includes('data: [DONE]')
              ? 'no [DONE] in the stream'
              : t.gateway && mode === 'json' && res.headers.get('x-tokens-consumed') !== '23'
                ? `x-tokens-consumed is ${res.headers.get('x-tokens-consumed')}, not 23`
                : t.id === 'governed' && !res.headers.get('x-ratelimit-limit-tokens')
                  ? 'no x-ratelimit-limit-tokens: the limit is not applied'
                  : null;
      if (problem) throw new Error(`sanity check, ${TARGET_LABEL[t.id]}, ${MODE_LABEL[mode]}: ${problem}`);
    }
  }
  log('sanity check: every target answers every mode as expected');
}

async function runMatrix(setup: Setup): Promise<Aggregate[]> {
  const aggregates: Aggregate[] = [];
  for (const mode of MODES) {
    const warm = quick ? 1 : 2;
    log(`\n${MODE_LABEL[mode]}: warm-up (${warm} s per target at 16 connections)`);
    for (const t of setup.targets) await measure(setup, t, mode, 16, warm);
    for (const connections of CONNECTIONS) {
      const order = [...setup.targets, ...[...setup.targets].reverse()];
      const ms: Measurement[] = [];
      for (const t of order) {
        const m = await measure(setup, t, mode, connections, SECONDS);
        ms.push(m);
        log(describe(m));
      }
      for (const id of TARGET_IDS) {
        const own = ms.filter((m) => m.target === id);
        if (own.length) aggregates.push(aggregate(own));
      }
    }
  }
  return aggregates;
}

/**
 * The latency below saturation: at full speed, 16 connections queue behind each other on the
 * servers' one CPU, so the matrix's latency at 16 connections is mostly 16 × the CPU a request
 * takes. Here each connection pauses after each response, so the targets run at a fraction of
 * their capacity and the latency is what a request costs, not how long it waits for the others.
 */
async function runPaced(setup: Setup): Promise<Aggregate[]> {
  log(`\nnon-streaming below saturation: ${PACED_CONNECTIONS} connections, each pausing ${PAUSE_MS} ms on average after each response`);
  const ms: Measurement[] = [];
  for (const t of [...setup.targets, ...[...setup.targets].reverse()]) {
    const m = await measure(setup, t, 'json', PACED_CONNECTIONS, SECONDS, t.keysFile, PAUSE_MS);
    ms.push(m);
    log(describe(m));
  }
  return TARGET_IDS.map((id) => ms.filter((m) => m.target === id)).filter((own) => own.length > 0).map(aggregate);
}

async function runTtfb(setup: Setup): Promise<TtfbRow[]> {
  log(`\nstreaming TTFB: ${TTFB_WARMUP} warm-up + ${TTFB_REQUESTS} measured requests per target, 1 connection`);
  const body = requestBody(SSE_MODEL, true);
  const clients = new Map<TargetId, Client>(setup.targets.map((t) => [t.id, singleConnection(t.origin)]));
  const rows = new Map<TargetId, TtfbRow>(setup.targets.map((t) => [t.id, { target: t.id, samples: [], failures: 0 }]));
  try {
    for (const t of setup.targets) await probeTtfb(clients.get(t.id)!, t.path.sse, body, t.key, TTFB_WARMUP);
    const half = Math.ceil(TTFB_REQUESTS / 2);
    for (const order of [setup.targets, [...setup.targets].reverse()]) {
      for (const t of order) await probeTtfb(clients.get(t.id)!, t.path.sse, body, t.key, half, rows.get(t.id)!);
    }
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  return setup.targets.map((t) => rows.get(t.id)!);
}

/** What the gateway's RSS is made of, from its own Prometheus metrics. */
async function memoryOf(t: Target): Promise<MemoryBreakdown> {
  const text = await (await fetch(`${t.origin}/metrics`)).text();
  const metric = (name: string) => {
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'gm'))) sum += Number(m[1]);
    return sum;
  };
  return {
    target: t.id,
    rssBytes: vmBytes(t.gateway!.pid, 'VmRSS'),
    hwmBytes: vmBytes(t.gateway!.pid, 'VmHWM'),
    heapTotalBytes: metric('nodejs_heap_size_total_bytes'),
    heapUsedBytes: metric('nodejs_heap_size_used_bytes'),
    externalBytes: metric('nodejs_external_memory_bytes'),
    ledgerDropped: metric('tollgate_ledger_dropped_total'),
  };
}

async function runScaling(setup: Setup): Promise<ScalingResult> {
  log(`\nscaling: a gateway with ${PROJECTS.toLocaleString('en-US')} projects (each with a limit) vs one with 1 project`);
  const upstreamPort = setup.upstream.port;
  const baseline = await startGateway(await freePort());
  setup.gateways.push(baseline);
  const many = await startGateway(await freePort());
  setup.gateways.push(many);
  const baselineKey = await seedBench(baseline, upstreamPort, true);
  const firstKey = await seedBench(many, upstreamPort, true);
  await sleep(500);
  const rssBeforeSeedBytes = vmBytes(many.pid, 'VmRSS');

  const api = await seedManyProjects(many, API_SEED, { concurrency: 16, deadlineMs: SEED_BUDGET_MS });
  log(`  admin API: ${api.keys.length} projects + limits in ${fmt(api.seconds, 1)} s (concurrency 16)`);
  const rest = PROJECTS - 1 - api.keys.length;
  const direct = api.truncated
    ? { keys: [] as string[], seconds: 0, truncated: false }
    : await seedManyProjectsDirect(many.dataDir, api.keys.length, rest, {
        onProgress: (n) => process.stdout.isTTY && process.stdout.write(`  store: ${n} projects\r`),
      });
  log(`  store (admin service, no per-change reload): ${direct.keys.length} projects + limits in ${fmt(direct.seconds, 1)} s`);
  const keys = [firstKey, ...api.keys, ...direct.keys];
  const visibleSeconds = await waitForKey(many, keys.at(-1)!, 120_000);
  await sleep(1500); // let the reload's garbage go
  const rssAfterSeedBytes = vmBytes(many.pid, 'VmRSS');
  log(`  ${keys.length} projects live after ${fmt(visibleSeconds, 1)} s; RSS ${mib(rssBeforeSeedBytes)} → ${mib(rssAfterSeedBytes)} MiB`);

  const oneKeyBaseline = keysFileFor(setup.work, 'scaling-baseline', [baselineKey]);
  const oneKeyMany = keysFileFor(setup.work, 'scaling-one', [firstKey]);
  const allKeys = keysFileFor(setup.work, 'scaling-all', keys);
  const target = (gw: GatewayProcess, key: string): Target => ({
    id: 'governed',
    origin: gw.url,
    path: { json: '/openai/v1/chat/completions', sse: '/openai/v1/chat/completions' },
    keysFile: '',
    cpuPids: [gw.pid],
    gateway: gw,
    key,
  });
  const cases = [
    { label: '1 project', projects: 1, keysRotated: 1, t: target(baseline, baselineKey), keysFile: oneKeyBaseline },
    { label: `${keys.length} projects, 1 key used`, projects: keys.length, keysRotated: 1, t: target(many, firstKey), keysFile: oneKeyMany },
    { label: `${keys.length} projects, all keys`, projects: keys.length, keysRotated: keys.length, t: target(many, firstKey), keysFile: allKeys },
  ];
  // Warm-up: the fresh gateways' JIT, and every key at least once (each project's limit state
  // comes to life on its first request).
  for (const c of cases) await measure(setup, c.t, 'json', SCALING_CONNECTIONS, quick ? 1 : 3, c.keysFile);
  const byCase = new Map<string, Measurement[]>(cases.map((c) => [c.label, []]));
  for (const c of [...cases, ...[...cases].reverse()]) {
    const m = await measure(setup, c.t, 'json', SCALING_CONNECTIONS, SECONDS, c.keysFile);
    byCase.get(c.label)!.push(m);
    log(describe(m, c.label));
  }
  const rows: ScalingRow[] = cases.map((c) => ({ label: c.label, projects: c.projects, keysRotated: c.keysRotated, agg: aggregate(byCase.get(c.label)!) }));
  await sleep(1000);
  return {
    projects: keys.length,
    apiProjects: api.keys.length,
    apiSeconds: api.seconds,
    directProjects: direct.keys.length,
    directSeconds: direct.seconds,
    truncated: api.truncated,
    visibleSeconds,
    connections: SCALING_CONNECTIONS,
    rows,
    baselineRssBytes: vmBytes(baseline.pid, 'VmRSS'),
    manyRssBytes: vmBytes(many.pid, 'VmRSS'),
    manyHwmBytes: vmBytes(many.pid, 'VmHWM'),
    rssBeforeSeedBytes,
    rssAfterSeedBytes,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  installSignalHandlers();
  const machine = machineInfo(); // before pinning: nproc counts the CPUs this process may use
  if (LOAD_CPU !== undefined) {
    // This runner (TTFB probe, seeding) stays off the servers' CPU, like wrk.
    spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  } else {
    notes.push('fewer than 2 CPUs: nothing is pinned, load generator and servers share the CPU');
  }
  if (NICE !== undefined) {
    // This process (the TTFB probe's client); the servers and wrk start under `nice -n`.
    spawnSync('renice', ['-n', String(NICE), '-p', String(process.pid)], { stdio: 'ignore' });
    notes.push(`--nice ${NICE}: servers, wrk and the runner ran at nice ${NICE}`);
  }
  if (NODE_ARGS.length) notes.push(`Tollgate ran with node flags: ${NODE_ARGS.join(' ')}`);
  ensureTools();
  buildIfNeeded();
  const loadBefore = load();
  log(`machine: ${machine.nproc} CPUs, ${machine.cpuModel}, Node ${machine.node}; load average ${loadBefore}`);
  if (loadavg()[0]! > 1.5) log('note: the machine is busy (load average > 1.5): expect noisier figures');

  const work = trackDir(mkdtempSync(path.join(tmpdir(), 'tollgate-bench-run-')));
  const bodyFile = { json: path.join(work, 'body-json.json'), sse: path.join(work, 'body-sse.json') };
  writeFileSync(bodyFile.json, requestBody(JSON_MODEL, false));
  writeFileSync(bodyFile.sse, requestBody(SSE_MODEL, true));
  let setup: Setup | null = null;
  try {
    const upstreamPort = await freePort();
    const upstream = await startNginx('upstream', (dir) => upstreamConfig(dir, upstreamPort), upstreamPort, SERVER_CPU, PREFIX);
    setup = { work, bodyFile, upstream, proxy: null, gateways: [], targets: [] };
    let aggregates: Aggregate[] = [];
    let ttfb: TtfbRow[] | null = null;
    let paced: Aggregate[] = [];
    const memory: MemoryBreakdown[] = [];
    if (MATRIX) {
      const proxyPort = await freePort();
      setup.proxy = await startNginx('proxy', (dir) => proxyConfig(dir, proxyPort, upstreamPort), proxyPort, SERVER_CPU, PREFIX);
      const governed = await startGateway(await freePort());
      setup.gateways.push(governed);
      const unlimited = await startGateway(await freePort());
      setup.gateways.push(unlimited);
      const governedKey = await seedBench(governed, upstreamPort, true);
      const unlimitedKey = await seedBench(unlimited, upstreamPort, false);
      const upstreamPaths = { json: UPSTREAM_JSON_PATH, sse: UPSTREAM_SSE_PATH };
      const gatewayPaths = { json: '/openai/v1/chat/completions', sse: '/openai/v1/chat/completions' };
      const nginxKeys = keysFileFor(work, 'nginx', [governedKey]);
      setup.targets = [
        { id: 'direct', origin: `http://127.0.0.1:${upstreamPort}`, path: upstreamPaths, keysFile: nginxKeys, cpuPids: setup.upstream.workers, gateway: null, key: governedKey },
        { id: 'nginx', origin: `http://127.0.0.1:${proxyPort}`, path: upstreamPaths, keysFile: nginxKeys, cpuPids: setup.proxy.workers, gateway: null, key: governedKey },
        { id: 'governed', origin: governed.url, path: gatewayPaths, keysFile: keysFileFor(work, 'governed', [governedKey]), cpuPids: [governed.pid], gateway: governed, key: governedKey },
        { id: 'unlimited', origin: unlimited.url, path: gatewayPaths, keysFile: keysFileFor(work, 'unlimited', [unlimitedKey]), cpuPids: [unlimited.pid], gateway: unlimited, key: unlimitedKey },
      ];
      await sanityCheck(setup);
      aggregates = await runMatrix(setup);
      if (PAUSE_MS > 0 && MODES.includes('json')) paced = await runPaced(setup);
      if (TTFB) ttfb = await runTtfb(setup);
      for (const t of setup.targets) if (t.gateway) memory.push(await memoryOf(t));
    }
    const scaling = SCALING ? await runScaling(setup) : null;
    if (scaling?.truncated) notes.push(`seeding through the admin API hit its ${SEED_BUDGET_MS / 1000} s budget: only ${scaling.projects} projects`);

    const report: Report = {
      machine,
      memory,
      git: gitDescription(),
      loadBefore,
      loadAfter: load(),
      seconds: SECONDS,
      connections: CONNECTIONS,
      modes: MATRIX ? MODES : [],
      aggregates,
      paced: paced.length ? { pauseMs: PAUSE_MS, connections: PACED_CONNECTIONS, aggregates: paced } : null,
      ttfb,
      scaling,
      totalSeconds: (performance.now() - started) / 1000,
      notes: [
        ...notes,
        'Tollgate runs as `tollgate start` (embedded SQLite store, request ledger on) with TOLLGATE_LOG_LEVEL=warn, so the per-request info log line is not written.',
        ...(quick ? ['--quick: 1 s per measurement; a smoke run, not figures to quote'] : []),
      ],
    };
    const text = markdown(report);
    log(`\n${text}`);
    const out = path.resolve(opts.out);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, text);
    log(`written to ${path.relative(ROOT, out)}`);
  } finally {
    if (setup) {
      await Promise.all(setup.gateways.map((g) => g.stop()));
      await setup.proxy?.stop();
      await setup.upstream.stop();
    }
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
