/**
 * The shared (Redis) limiter against the in-memory one, in the same run: decisions per second and
 * the latency of one decision (a `reserve` then its `settle`, what every governed request costs),
 * for one limit and for 10,000 limits hit round-robin, at concurrency 1 and 64.
 *
 *   npx tsx bench/limiter-redis.ts            # Redis at REDIS_URL, default redis://127.0.0.1:6379
 *
 * Uses its own key prefix and deletes its keys at the end (SCAN + UNLINK); flushes nothing.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { LimitRule, Limiter } from '../src/limits/limiter.js';
import { MemoryLimiter } from '../src/limits/memory-limiter.js';
import { RedisLimiter } from '../src/limits/redis-limiter.js';

const PROJECTS = 10_000;
const CONCURRENCY = 64;
/** Decisions timed per scenario (after a warm-up that touches every limit once). */
const COUNTS = { memory: 200_000, redis: 20_000 };

const HUGE_TPM = 1e12;
const HUGE_QUOTA = 1e15;

function rule(id: string): LimitRule {
  return { id, tokensPerMinute: HUGE_TPM, tokenQuota: HUGE_QUOTA, quotaPeriod: 'monthly' };
}

interface Result {
  limiter: string;
  limits: string;
  concurrency: number;
  decisions: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function decide(limiter: Limiter, rules: readonly LimitRule[]): Promise<void> {
  const r = await limiter.reserve(rules, 100);
  if (!r.ok) throw new Error(`unexpected refusal: ${r.kind}`);
  await limiter.settle(r.reservation, 80);
}

/** Runs `count` decisions, `concurrency` at a time (Promise.all windows); latencies in µs. */
async function run(limiter: Limiter, rulesFor: (i: number) => readonly LimitRule[], from: number, count: number, concurrency: number): Promise<{ ms: number; latencies: Float64Array }> {
  const latencies = new Float64Array(count);
  const t0 = performance.now();
  for (let base = 0; base < count; base += concurrency) {
    const n = Math.min(concurrency, count - base);
    const window: Array<Promise<void>> = new Array(n);
    for (let j = 0; j < n; j++) {
      const i = base + j;
      const start = performance.now();
      window[j] = decide(limiter, rulesFor(from + i)).then(() => {
        latencies[i] = (performance.now() - start) * 1000;
      });
    }
    await Promise.all(window);
  }
  return { ms: performance.now() - t0, latencies };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function scenario(name: string, limiter: Limiter, limits: 'one' | 'many', concurrency: number, count: number): Promise<Result> {
  const one = [rule(`bench-single-${name}`)];
  const many = Array.from({ length: PROJECTS }, (_, i) => [rule(`bench-project-${i}`)]);
  const rulesFor = limits === 'one' ? () => one : (i: number) => many[i % PROJECTS]!;
  await run(limiter, rulesFor, 0, Math.max(PROJECTS, Math.floor(count / 5)), concurrency); // warm-up: every limit exists
  const { ms, latencies } = await run(limiter, rulesFor, 0, count, concurrency);
  latencies.sort();
  return {
    limiter: name,
    limits: limits === 'one' ? '1 limit' : `${PROJECTS.toLocaleString('en')} limits, round-robin`,
    concurrency,
    decisions: count,
    perSecond: count / (ms / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) deleted += await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return deleted;
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // The settings advised for production (fail fast rather than queue; see ResilientLimiter), with
  // a roomier command timeout so a scheduling hiccup on a busy machine does not abort the run.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 2000 });
  await once(redis, 'ready');
  const prefix = `tollgate-bench:${randomBytes(4).toString('hex')}:`;
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';

  const results: Result[] = [];
  try {
    for (const limits of ['one', 'many'] as const) {
      for (const concurrency of [1, CONCURRENCY]) {
        const memory = new MemoryLimiter();
        results.push(await scenario('memory', memory, limits, concurrency, COUNTS.memory));
        await memory.close();
        const shared = new RedisLimiter({ redis, keyPrefix: prefix });
        results.push(await scenario('redis', shared, limits, concurrency, COUNTS.redis));
        await shared.close();
      }
    }
  } finally {
    const deleted = await deleteKeys(redis, prefix);
    await redis.quit();
    console.log(`(deleted ${deleted} bench keys under ${prefix})`);
  }

  const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const header = ['limits', 'concurrency', 'limiter', 'decisions', 'decisions/s', 'p50 µs', 'p99 µs', 'added p50 µs', 'added p99 µs'];
  const table = results.map((r) => {
    const mem = results.find((m) => m.limiter === 'memory' && m.limits === r.limits && m.concurrency === r.concurrency)!;
    const added = r.limiter === 'memory' ? ['', ''] : [fmt(r.p50 - mem.p50, 1), fmt(r.p99 - mem.p99, 1)];
    return [r.limits, String(r.concurrency), r.limiter, fmt(r.decisions), fmt(r.perSecond), fmt(r.p50, 1), fmt(r.p99, 1), ...added];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c <= 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(`One decision = reserve (100 tokens) + settle (80 used), TPM + monthly quota per limit; node ${process.version}, Redis ${version} at ${url.replace(/\/\/[^@]*@/, '//***@')}`);
  console.log(`Latency: from the start of the reserve to the end of the settle; at concurrency ${CONCURRENCY} it includes waiting behind the other ${CONCURRENCY - 1}.`);
  console.log();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) console.log(line(row));
}

await main();
