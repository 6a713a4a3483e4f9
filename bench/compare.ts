/**
 * Compares Tollgate variants in one run: two or more gateways (other code checkouts, settings,
 * node flags) behind the same nginx upstream, loaded in turn with wrk, alternating the order each
 * round to cancel drift. Prints CPU per request, req/s, p50/p99 and peak RSS per variant. On a
 * noisy machine this is the way to tell whether a change helps: the ratio within one run.
 *
 *   npx tsx bench/compare.ts [--mode json|sse] [--connections 16] [--seconds 5] [--rounds 4] [--projects N] <variant>...
 *
 * With --projects, each gateway also gets N more projects with a limit each (seeded into its store
 * directly, as bench/run.ts's scaling check does), and the load rotates over all their keys.
 *
 * A variant is a label and settings, space-separated:
 *   'now'                                this checkout (its dist/; run npm run build first)
 *   'before dir=/tmp/old'                a checkout (with its own built dist/) in another directory
 *   'growth0 TOLLGATE_HEAP_GROWTH_PERCENT=0'   environment variables for the gateway
 *   'capped node=--max-old-space-size=128'     node flags (repeat node=… for several)
 *   'ungoverned limits=off'              the project without a TPM limit and quota
 *   'three backends=3'                   the deployment a pool of 3 backends (docs/backends.md), all
 *                                        on the same upstream: against a variant without it, the
 *                                        cost of the pool, e.g. compare.ts one 'three backends=3'
 *   'floor proxy=bare'                   not Tollgate: node:http + undici dispatch and nothing else
 *                                        (bench/lib/bare-proxy.mjs), the floor of a Node proxy
 * e.g. git worktree add /tmp/old <commit> && ln -s $PWD/node_modules /tmp/old/ && (cd /tmp/old && npx tsc -p tsconfig.build.json)
 */
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installSignalHandlers, stopAll, track, trackDir } from './lib/children.js';
import { seedGoverned, startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { poolDeployment, seedManyProjectsDirect, waitForKey } from './lib/seed.js';
import { ensureTools, freePort, startNginx, upstreamConfig } from './lib/nginx.js';
import { cpuMicros, mainThreadCpuMicros, vmBytes } from './lib/proc.js';
import { fmt, markdownTable } from './lib/stats.js';
import { requestBody, UPSTREAM_JSON_PATH, UPSTREAM_SSE_PATH } from './lib/upstream.js';
import { errorsOf, runWrk } from './lib/wrk.js';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mode: { type: 'string', default: 'json' },
    connections: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    projects: { type: 'string', default: '0' },
  },
});
if (positionals.length < 2) throw new Error('give two variants or more, e.g.: now "before dir=/tmp/old"');
if (opts.mode !== 'json' && opts.mode !== 'sse') throw new Error('--mode must be json or sse');
const stream = opts.mode === 'sse';

interface Variant {
  label: string;
  dir: string | undefined;
  env: Record<string, string>;
  nodeArgs: string[];
  limits: boolean;
  /** The deployment a pool of this many backends on the one upstream (`backends=N`); undefined: one upstream. */
  backends: number | undefined;
  /** Not Tollgate: bench/lib/bare-proxy.mjs, the floor of a Node proxy (`proxy=bare`). */
  bare: boolean;
}

function parseVariant(spec: string): Variant {
  const [label, ...settings] = spec.split(/\s+/).filter(Boolean);
  const v: Variant = { label: label!, dir: undefined, env: {}, nodeArgs: [], limits: true, backends: undefined, bare: false };
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq === -1) throw new Error(`variant "${spec}": "${s}" is not name=value`);
    const [name, value] = [s.slice(0, eq), s.slice(eq + 1)];
    if (name === 'dir') v.dir = path.resolve(value);
    else if (name === 'node') v.nodeArgs.push(value);
    else if (name === 'limits') v.limits = value !== 'off';
    else if (name === 'backends') v.backends = Number(value);
    else if (name === 'proxy' && value === 'bare') v.bare = true;
    else v.env[name] = value;
  }
  return v;
}

/** bench/lib/bare-proxy.mjs on CPU 1, in the shape of a gateway process. */
async function startBareProxy(upstreamUrl: string): Promise<GatewayProcess> {
  const port = await freePort();
  const child = track(spawn('taskset', ['-c', '1', process.execPath, 'bench/lib/bare-proxy.mjs', String(port), upstreamUrl], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (up) break;
    if (i === 100) throw new Error('the bare proxy did not start');
    await sleep(50);
  }
  return {
    url,
    pid: child.pid!,
    dataDir: '',
    child,
    admin: () => Promise.reject(new Error('the bare proxy has no admin API')),
    async stop() {
      child.kill();
    },
  };
}

interface Row {
  variant: Variant;
  gateway: GatewayProcess;
  keys: string[];
  cpuMicros: number;
  /** Of cpuMicros, the main thread's (the event loop's). */
  mainMicros: number;
  requests: number;
  p50: number[];
  p99: number[];
  rps: number[];
}

installSignalHandlers();
ensureTools();
const variants = positionals.map(parseVariant);
const work = trackDir(mkdtempSync(path.join(tmpdir(), 'tollgate-compare-')));
const upstreamPort = await freePort();
// wrk on CPU 0, the upstream and the gateways on CPU 1, as in bench/run.ts.
const upstream = await startNginx('upstream', (dir: string) => upstreamConfig(dir, upstreamPort), upstreamPort, 1);
const rows: Row[] = [];
try {
  for (const variant of variants) {
    // The fake upstream answers JSON at /v1/chat/completions and SSE at /sse/v1/chat/completions.
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}${(stream ? UPSTREAM_SSE_PATH : UPSTREAM_JSON_PATH).replace('/chat/completions', '')}`;
    if (variant.bare) {
      rows.push({ variant, gateway: await startBareProxy(upstreamUrl), keys: ['none'], cpuMicros: 0, mainMicros: 0, requests: 0, p50: [], p99: [], rps: [] });
      continue;
    }
    const gateway = await startGatewayProcess(await freePort(), variant.env, {
      cpu: 1,
      nodeArgs: variant.nodeArgs,
      ...(variant.dir ? { prefix: ['env', '-C', variant.dir] } : {}),
      onSpawn: (child, dataDir) => {
        track(child);
        trackDir(dataDir);
      },
    });
    const deployment = variant.backends === undefined ? { provider: 'openai-compatible', upstreamUrl } : poolDeployment(upstreamUrl, variant.backends);
    const keys = [await seedGoverned(gateway, deployment, variant.limits)];
    if (Number(opts.projects) > 0) {
      const seeded = await seedManyProjectsDirect(gateway.dataDir, 0, Number(opts.projects));
      keys.push(...seeded.keys);
      await waitForKey(gateway, keys.at(-1)!, 120_000);
      console.log(`${variant.label}: ${keys.length} projects in ${fmt(seeded.seconds, 1)} s`);
    }
    rows.push({ variant, gateway, keys, cpuMicros: 0, mainMicros: 0, requests: 0, p50: [], p99: [], rps: [] });
  }
  const bodyFile = path.join(work, 'body.json');
  writeFileSync(bodyFile, requestBody('bench-model', stream));
  const rounds = Number(opts.rounds);
  for (let round = 0; round < rounds + 1; round++) {
    const warmUp = round === 0;
    for (const row of round % 2 === 1 ? [...rows].reverse() : rows) {
      const keysFile = path.join(work, `keys-${row.variant.label}.txt`);
      writeFileSync(keysFile, `${row.keys.join('\n')}\n`);
      const before = cpuMicros([row.gateway.pid]);
      const mainBefore = mainThreadCpuMicros(row.gateway.pid);
      const r = await runWrk({
        origin: row.gateway.url,
        path: '/openai/v1/chat/completions',
        bodyFile,
        keysFile,
        connections: Number(opts.connections),
        seconds: warmUp ? 2 : Number(opts.seconds),
        cpu: 0,
      });
      // A variant answering errors (a pool refusing, a limit tripping) would look cheap: stop instead.
      if (r.non2xx > 0 || errorsOf(r) > 0) throw new Error(`${row.variant.label}: ${r.non2xx} error statuses and ${errorsOf(r)} socket errors in ${r.requests} requests`);
      if (warmUp) continue;
      row.cpuMicros += cpuMicros([row.gateway.pid]) - before;
      row.mainMicros += mainThreadCpuMicros(row.gateway.pid) - mainBefore;
      row.requests += r.requests;
      row.p50.push(r.p50Us);
      row.p99.push(r.p99Us);
      row.rps.push((r.requests * 1e6) / r.durationUs);
      console.log(`round ${round}  ${row.variant.label.padEnd(12)} ${fmt(row.rps.at(-1)!)} req/s  p99 ${fmt(r.p99Us)} µs`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const projects = Number(opts.projects) > 0 ? `, ${Number(opts.projects) + 1} projects, all keys in rotation` : '';
  console.log(`\n${opts.mode}, ${opts.connections} connections${projects}, ${rounds} × ${opts.seconds} s per variant (after a 2 s warm-up), alternating order; commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()}\n`);
  console.log(
    markdownTable(
      ['variant', 'CPU µs/request', 'of which main thread', 'req/s', 'p50 µs (mean)', 'p99 µs per round', 'peak RSS MiB'],
      rows.map((row) => [
        row.variant.label,
        fmt(row.cpuMicros / row.requests, 1),
        fmt(row.mainMicros / row.requests, 1),
        fmt(mean(row.rps)),
        fmt(mean(row.p50)),
        row.p99.map((p) => fmt(p)).join(' / '),
        fmt(vmBytes(row.gateway.pid, 'VmHWM') / 2 ** 20, 1),
      ]),
    ),
  );
} finally {
  for (const row of rows) await row.gateway.stop();
  await upstream.stop();
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
