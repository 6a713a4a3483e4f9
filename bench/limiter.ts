/**
 * Limiter throughput: decisions per second of the in-memory limiter, one decision being a
 * `reserve` followed by its `settle` (what every governed request costs), through the public async
 * API. Run: `npx tsx bench/limiter.ts` (add `--expose-gc` for steadier heap figures).
 *
 *   (a) one limit (TPM + quota), every request against it;
 *   (b) 10,000 projects, each with its own limit (TPM + quota), requests round-robin over them,
 *       with the heap before/after (memory per limit);
 *   (c) the refusal path: one exhausted TPM limit, every reserve refused (retryAfter computed).
 */
import { performance } from 'node:perf_hooks';
import type { LimitRule } from '../src/limits/limiter.js';
import { MemoryLimiter } from '../src/limits/memory-limiter.js';

const WARMUP = 200_000;
const ITERATIONS = 1_000_000;
const PROJECTS = 10_000;

interface Row {
  scenario: string;
  iterations: number;
  ms: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Heap {
  heapUsed: number;
  /** Backing stores of typed arrays (the window buckets) live outside the JS heap. */
  arrayBuffers: number;
}

function heap(): Heap {
  gc?.();
  gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

function rule(id: string, tokensPerMinute: number | null, tokenQuota: number | null): LimitRule {
  return { id, tokensPerMinute, tokenQuota, quotaPeriod: tokenQuota === null ? null : 'monthly' };
}

/** Limits that never refuse: the bench measures decisions, not refusals. */
const HUGE_TPM = 1e12;
const HUGE_QUOTA = 1e15;

async function reserveSettle(limiter: MemoryLimiter, rulesFor: (i: number) => readonly LimitRule[], from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const r = await limiter.reserve(rulesFor(i), 100);
    if (!r.ok) throw new Error(`unexpected refusal: ${r.kind}`);
    await limiter.settle(r.reservation, 80);
  }
}

async function timed(scenario: string, iterations: number, body: () => Promise<void>): Promise<Row> {
  const t0 = performance.now();
  await body();
  return { scenario, iterations, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const rows: Row[] = [];

  // (a) one limit
  {
    const limiter = new MemoryLimiter();
    const rules = [rule('bench-single', HUGE_TPM, HUGE_QUOTA)];
    await reserveSettle(limiter, () => rules, 0, WARMUP);
    rows.push(await timed('(a) 1 limit, TPM + quota', ITERATIONS, () => reserveSettle(limiter, () => rules, WARMUP, ITERATIONS)));
    await limiter.close();
  }

  // (b) 10,000 projects, one limit each, round-robin
  let heapBefore: Heap = { heapUsed: 0, arrayBuffers: 0 };
  let heapAfterWarmup = heapBefore;
  let heapAfter = heapBefore;
  {
    const projects = Array.from({ length: PROJECTS }, (_, i) => [rule(`bench-project-${i}`, HUGE_TPM, HUGE_QUOTA)]);
    const rulesFor = (i: number) => projects[i % PROJECTS]!;
    heapBefore = heap();
    const limiter = new MemoryLimiter();
    await reserveSettle(limiter, rulesFor, 0, WARMUP);
    heapAfterWarmup = heap();
    rows.push(await timed(`(b) ${PROJECTS.toLocaleString('en')} limits, round-robin`, ITERATIONS, () => reserveSettle(limiter, rulesFor, WARMUP, ITERATIONS)));
    heapAfter = heap();
    // Keep the limiter alive until measured.
    await limiter.close();
  }

  // (c) refusals: a full window, every reserve refused with a computed retryAfter
  {
    const limiter = new MemoryLimiter();
    const rules = [rule('bench-full', 1000, null)];
    const first = await limiter.reserve(rules, 1000);
    if (!first.ok) throw new Error('could not fill the window');
    const refuse = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const r = await limiter.reserve(rules, 10);
        if (r.ok) throw new Error('unexpected admission');
      }
    };
    await refuse(WARMUP);
    rows.push(await timed('(c) refusals (TPM exhausted)', ITERATIONS, () => refuse(ITERATIONS)));
    await limiter.close();
  }

  const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const header = ['scenario', 'iterations', 'time (ms)', 'ops/s', 'ns/op'];
  const table = rows.map((r) => [r.scenario, fmt(r.iterations), fmt(r.ms), fmt(r.iterations / (r.ms / 1000)), fmt((r.ms * 1e6) / r.iterations)]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(`MemoryLimiter: one op = reserve + settle (async API); warm-up ${fmt(WARMUP)} then ${fmt(ITERATIONS)} iterations; node ${process.version}`);
  console.log();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) console.log(line(row));
  console.log();
  const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`;
  const total = (h: Heap) => h.heapUsed + h.arrayBuffers;
  const show = (h: Heap) => `${mb(h.heapUsed)} heap + ${mb(h.arrayBuffers)} array buffers`;
  console.log(`(b) before:        ${show(heapBefore)}`);
  console.log(`(b) after warm-up: ${show(heapAfterWarmup)}`);
  console.log(`(b) after the run: ${show(heapAfter)}`);
  const perLimit = (h: Heap) => fmt((total(h) - total(heapBefore)) / PROJECTS);
  console.log(`(b) memory per limit: ~${perLimit(heapAfterWarmup)} bytes after warm-up, ~${perLimit(heapAfter)} bytes after the run`);
  if (!gc) console.log('    (no --expose-gc: heap figures include garbage; run `npx tsx --expose-gc bench/limiter.ts` for steadier ones)');
}

await main();
