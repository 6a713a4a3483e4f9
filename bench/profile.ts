/**
 * Where does the governed non-streaming request spend its CPU? Runs a governed Tollgate (TPM
 * limit + quota that never trip) under `node --cpu-prof` in front of the fixed nginx upstream,
 * loads it with wrk, stops it, and summarises the profile: self and total time by function and
 * by module, also per request. Prints it and writes bench/results/profile.md. The gateway has
 * CPU 1 to itself; wrk and the upstream share CPU 0.
 *
 *   npx tsx bench/profile.ts [--seconds 10] [--connections 16] [--mode json|sse] [--no-limits] [--projects N] [--keep <dir>]
 *
 * --projects N adds N projects with a limit each (seeded into the store directly) and rotates the
 * load over all their keys; their loading by the gateway is in the profile too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installSignalHandlers, stopAll, track, trackDir } from './lib/children.js';
import { summarise, type CpuProfile, type Row } from './lib/cpuprofile.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { ensureTools, freePort, startNginx, upstreamConfig, type NginxProcess } from './lib/nginx.js';
import { cpuSplitMicros } from './lib/proc.js';
import { JSON_MODEL, seedBench, seedManyProjectsDirect, SSE_MODEL, waitForKey } from './lib/seed.js';
import { fmt, markdownTable } from './lib/stats.js';
import { requestBody } from './lib/upstream.js';
import { runWrk } from './lib/wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.chdir(ROOT);

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    mode: { type: 'string', default: 'json' },
    'no-limits': { type: 'boolean', default: false },
    projects: { type: 'string', default: '0' },
    top: { type: 'string', default: '20' },
    keep: { type: 'string' },
    out: { type: 'string', default: 'bench/results/profile.md' },
  },
});
const seconds = Number(opts.seconds);
const connections = Number(opts.connections);
const top = Number(opts.top);
const stream = opts.mode === 'sse';
const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
const LOAD_CPU = cpus >= 2 ? 0 : undefined;
const SERVER_CPU = cpus >= 2 ? 1 : undefined;

installSignalHandlers();
ensureTools();
const work = trackDir(mkdtempSync(path.join(tmpdir(), 'tollgate-bench-profile-')));
const profDir = opts.keep ? path.resolve(opts.keep) : path.join(work, 'prof');
mkdirSync(profDir, { recursive: true });
let upstream: NginxProcess | null = null;
let gw: GatewayProcess | null = null;
try {
  const upstreamPort = await freePort();
  // The upstream shares CPU 0 with wrk, not the gateway's CPU: the profiler samples wall time, so
  // an upstream woken on the gateway's CPU (by the gateway's own write) would be counted as the
  // gateway's time in `writev`.
  upstream = await startNginx('upstream', (dir) => upstreamConfig(dir, upstreamPort), upstreamPort, LOAD_CPU);
  gw = await startGatewayProcess(
    await freePort(),
    {},
    {
      cpu: SERVER_CPU,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '250'],
      onSpawn: (child, dataDir) => {
        track(child);
        trackDir(dataDir);
      },
    },
  );
  const key = await seedBench(gw, upstreamPort, !opts['no-limits']);
  const bodyFile = path.join(work, 'body.json');
  writeFileSync(bodyFile, requestBody(stream ? SSE_MODEL : JSON_MODEL, stream));
  const keys = [key];
  if (Number(opts.projects) > 0) {
    keys.push(...(await seedManyProjectsDirect(gw.dataDir, 0, Number(opts.projects))).keys);
    await waitForKey(gw, keys.at(-1)!, 120_000);
  }
  const keysFile = path.join(work, 'keys.txt');
  writeFileSync(keysFile, `${keys.join('\n')}\n`);
  const load = (s: number) =>
    runWrk({ origin: gw!.url, path: '/openai/v1/chat/completions', bodyFile, keysFile, connections, seconds: s, cpu: LOAD_CPU });
  const warm = await load(2); // warm-up: in the profile too, so counted in the per-request figures
  const cpu0 = cpuSplitMicros(gw.pid);
  const result = await load(seconds);
  const cpu1 = cpuSplitMicros(gw.pid);
  const userPerRequest = (cpu1.user - cpu0.user) / result.requests;
  const systemPerRequest = (cpu1.system - cpu0.system) / result.requests;
  const cpuPerRequest = userPerRequest + systemPerRequest;
  await gw.stop(); // SIGTERM → graceful exit → node writes the profile
  gw = null;
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${profDir}`);
  const profile = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile;
  const s = summarise(profile);
  const perRequest = (us: number) => us / (warm.requests + result.requests);
  const pct = (us: number) => `${fmt((100 * us) / s.busyUs, 1)}%`;
  const table = (rows: Row[], withWhere: boolean) =>
    markdownTable(
      [withWhere ? 'function' : 'module', ...(withWhere ? ['where'] : []), 'self %', 'self µs/req', 'total %', 'total µs/req'],
      rows.slice(0, top).map((r) => [r.name, ...(withWhere ? [r.where] : []), pct(r.self), fmt(perRequest(r.self), 1), pct(r.total), fmt(perRequest(r.total), 1)]),
      [false, ...(withWhere ? [false] : []), true, true, true, true],
    );
  const tollgateTotals = s.functions
    .filter((r) => r.where.startsWith('dist/'))
    .sort((a, b) => b.total - a.total);
  const text = [
    `# CPU profile: ${opts['no-limits'] ? 'ungoverned (no limits)' : 'governed'} ${stream ? 'streaming' : 'non-streaming'} requests\n`,
    `- ${fmt(result.requests)} requests in ${seconds} s at ${connections} connections (${fmt((result.requests * 1e6) / result.durationUs)} req/s), ` +
      `gateway CPU ${fmt(cpuPerRequest, 1)} µs/request: user ${fmt(userPerRequest, 1)}, system (kernel: sockets, loopback TCP) ${fmt(systemPerRequest, 1)} ` +
      "(from /proc; the profiler's sampling adds to it)",
    '- the profiler samples wall time: when the gateway is preempted (other work on its CPU), the sample lands where it was — ' +
      'often the system call that woke someone else, `writev`. Compare the `writev` share with the system-time share above.',
    `- profile: ${fmt(s.durationUs / 1e6, 1)} s, busy (not idle) ${fmt((100 * s.busyUs) / s.durationUs)}% of it. Shares are of busy time, ` +
      'start-up and shutdown included; "per request" divides by all requests (warm-up included); "self" is time in the function itself, ' +
      '"total" includes what it calls; (native) is code outside JavaScript, e.g. `writev` is the socket write system call',
    `\n## Top ${top} functions by self time\n\n${table(s.functions, true)}`,
    `\n## Modules by self time\n\n${table(s.modules, false)}`,
    `\n## Tollgate functions by total time\n\n${table(tollgateTotals, true)}`,
  ].join('\n');
  console.log(text);
  mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  writeFileSync(path.resolve(opts.out), text + '\n');
  console.log(`\nwritten to ${opts.out}${opts.keep ? `; profile kept in ${profDir}` : ''}`);
} finally {
  await gw?.stop();
  await upstream?.stop();
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
