/**
 * Where does the p99 at 16 connections come from? Loads one governed Tollgate (in front of the
 * nginx upstream, both on CPU 1, wrk on CPU 0, as bench/run.ts does), then reads back what the
 * gateway itself recorded in its request ledger — each request's start and its latency inside the
 * gateway — and shows:
 *   - wrk's p50/p99 (client side) beside the gateway's own percentiles (from the request being
 *     read to the answer written: no wrk, no coordinated-omission correction);
 *   - the timeline in 10 ms windows: how many of the slowest 1% of requests fall in "slow
 *     windows" (mean latency over twice the median window's), and how far apart slow windows
 *     are: a stall that recurs (a timer, a flush) shows as one spacing dominating;
 *   - the CPU per request of the event loop and of the other threads (ledger writer, GC helpers).
 *
 *   npx tsx bench/tail.ts [--seconds 10] [--connections 16] [--pause ms] [--env NAME=VALUE ...] [--node-args "..."]
 *
 * --pause makes each connection wait that long on average after each response (below saturation).
 *
 * Expects a built dist/ (npm run build, or npm run bench first).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { installSignalHandlers, stopAll, track, trackDir } from './lib/children.js';
import { seedGoverned, startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { ensureTools, freePort, startNginx, upstreamConfig, type NginxProcess } from './lib/nginx.js';
import { cpuMicros, mainThreadCpuMicros } from './lib/proc.js';
import { fmt, markdownTable } from './lib/stats.js';
import { requestBody, UPSTREAM_JSON_PATH } from './lib/upstream.js';
import { runWrk } from './lib/wrk.js';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    pause: { type: 'string', default: '0' },
    env: { type: 'string', multiple: true, default: [] },
    'node-args': { type: 'string', default: '' },
  },
});
const env = Object.fromEntries(
  opts.env.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--env ${pair}: expected NAME=VALUE`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }),
);
const WINDOW_MS = 10;

installSignalHandlers();
ensureTools();
const work = trackDir(mkdtempSync(path.join(tmpdir(), 'tollgate-bench-tail-')));
let upstream: NginxProcess | null = null;
let gw: GatewayProcess | null = null;
try {
  const upstreamPort = await freePort();
  upstream = await startNginx('upstream', (dir: string) => upstreamConfig(dir, upstreamPort), upstreamPort, 1);
  gw = await startGatewayProcess(await freePort(), env, {
    cpu: 1,
    nodeArgs: opts['node-args'].split(/\s+/).filter(Boolean),
    onSpawn: (child, dataDir) => {
      track(child);
      trackDir(dataDir);
    },
  });
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}${UPSTREAM_JSON_PATH.replace('/chat/completions', '')}`;
  const key = await seedGoverned(gw, { provider: 'openai-compatible', upstreamUrl }, true);
  const bodyFile = path.join(work, 'body.json');
  const keysFile = path.join(work, 'keys.txt');
  writeFileSync(bodyFile, requestBody('bench-model', false));
  writeFileSync(keysFile, `${key}\n`);
  const load = (seconds: number) =>
    runWrk({ origin: gw!.url, path: '/openai/v1/chat/completions', bodyFile, keysFile, connections: Number(opts.connections), seconds, cpu: 0, pauseMs: Number(opts.pause) });

  await load(3); // warm-up
  const fromMs = Date.now();
  const cpuBefore = cpuMicros([gw.pid]);
  const mainBefore = mainThreadCpuMicros(gw.pid);
  const r = await load(Number(opts.seconds));
  const cpu = cpuMicros([gw.pid]) - cpuBefore;
  const main = mainThreadCpuMicros(gw.pid) - mainBefore;

  // The ledger is written in the background: wait until it holds the run.
  const db = new Database(path.join(gw.dataDir, 'tollgate.db'), { readonly: true, fileMustExist: true });
  const query = db.prepare('select at_ms as atMs, latency_ms as latencyMs from request_log where at_ms >= ? order by id');
  let rows: { atMs: number; latencyMs: number }[] = [];
  for (let i = 0; i < 100; i++) {
    rows = query.all(fromMs) as typeof rows;
    if (rows.length >= r.requests) break;
    await sleep(100);
  }
  db.close();
  if (rows.length === 0) throw new Error('the ledger holds no request of the run');

  const sorted = rows.map((x) => x.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  const p50 = pct(0.5);
  const p99 = pct(0.99);

  const windows = new Map<number, { sum: number; n: number }>();
  for (const x of rows) {
    const w = Math.floor(Number(x.atMs) / WINDOW_MS);
    const cell = windows.get(w) ?? { sum: 0, n: 0 };
    cell.sum += x.latencyMs;
    cell.n++;
    windows.set(w, cell);
  }
  const means = [...windows.values()].map((c) => c.sum / c.n).sort((a, b) => a - b);
  const typical = means[Math.floor(means.length / 2)]!;
  const slow = new Set([...windows].filter(([, c]) => c.sum / c.n > 2 * typical).map(([w]) => w));
  const slowest = rows.filter((x) => x.latencyMs >= p99);
  const inSlow = slowest.filter((x) => slow.has(Math.floor(Number(x.atMs) / WINDOW_MS))).length;
  const starts = [...slow].sort((a, b) => a - b);
  const spacings = new Map<number, number>();
  for (let i = 1; i < starts.length; i++) {
    const gap = (starts[i]! - starts[i - 1]!) * WINDOW_MS;
    if (gap > WINDOW_MS) spacings.set(gap, (spacings.get(gap) ?? 0) + 1); // neighbours are one stall
  }
  const commonSpacings = [...spacings].sort((a, b) => b[1] - a[1]).slice(0, 4);

  const settings = [...opts.env, ...(opts['node-args'] ? [`node ${opts['node-args']}`] : [])].join(', ') || 'defaults';
  const paced = Number(opts.pause) > 0 ? `, each pausing ${opts.pause} ms on average after each response` : '';
  console.log(`\ngoverned non-streaming, ${opts.connections} connections${paced}, ${opts.seconds} s (${settings})\n`);
  console.log(
    markdownTable(
      ['seen by', 'requests', 'p50 µs', 'p90 µs', 'p99 µs', 'p99.9 µs', 'p99 / p50'],
      [
        ['wrk (client)', fmt(r.requests), fmt(r.p50Us), fmt(r.p90Us), fmt(r.p99Us), '', fmt(r.p99Us / r.p50Us, 1)],
        ['the gateway (ledger)', fmt(rows.length), fmt(p50 * 1000), fmt(pct(0.9) * 1000), fmt(p99 * 1000), fmt(pct(0.999) * 1000), fmt(p99 / p50, 1)],
      ],
    ),
  );
  console.log(
    `\n- CPU per request: ${fmt(cpu / r.requests, 1)} µs, of which the event loop ${fmt(main / r.requests, 1)} µs and the other threads ${fmt((cpu - main) / r.requests, 1)} µs` +
      `\n- ${WINDOW_MS} ms windows: ${slow.size} of ${windows.size} slow (mean latency over ${fmt(2 * typical * 1000)} µs, twice the median window's); ` +
      `${fmt((100 * inSlow) / Math.max(1, slowest.length), 0)}% of the slowest 1% of requests started in one` +
      `\n- spacing between slow windows (ms × times): ${commonSpacings.map(([gap, n]) => `${gap} × ${n}`).join(', ') || 'none'}`,
  );
} finally {
  await gw?.stop();
  await upstream?.stop();
  await stopAll();
}
