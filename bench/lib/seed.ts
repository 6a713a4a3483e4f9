import { setTimeout as sleep } from 'node:timers/promises';
import { seedGoverned, type GatewayProcess } from './gateway-process.js';

/** Deployment names: one non-streaming and one streaming upstream path on the fake upstream. */
export const JSON_MODEL = 'bench-model';
export const SSE_MODEL = 'bench-model-sse';

/** Never trips: the governed path does all its work (estimate, reserve, settle) without refusing. */
export const HUGE_LIMIT = { tokensPerMinute: 1_000_000_000_000, tokenQuota: 1_000_000_000_000, quotaPeriod: 'monthly' };

/**
 * The bench resource with two `openai-compatible` deployments on the fake upstream (JSON at
 * `/v1`, SSE at `/sse/v1`), its gateway and one project; with `withLimits`, the project has a
 * TPM limit and a quota on all deployments. Returns the project key.
 */
export async function seedBench(gw: GatewayProcess, upstreamPort: number, withLimits: boolean): Promise<string> {
  const base = `http://127.0.0.1:${upstreamPort}`;
  const key = await seedGoverned(gw, { provider: 'openai-compatible', upstreamUrl: `${base}/v1` }, withLimits);
  await gw.admin('POST', '/resources/bench/deployments', { name: SSE_MODEL, provider: 'openai-compatible', upstreamUrl: `${base}/sse/v1` });
  return key;
}

/**
 * A deployment of `count` backends (docs/backends.md), all on the same upstream URL, equal in
 * priority and weight: the selection, breaker bookkeeping and failover set-up run on every request
 * while the upstream's work stays that of one backend, so the difference is the pool's own cost.
 */
export function poolDeployment(upstreamUrl: string, count: number): { provider: string; backends: { name: string; upstreamUrl: string }[] } {
  if (!Number.isInteger(count) || count < 1 || count > 30) throw new Error(`backends must be a whole number from 1 to 30, got ${count}`);
  return { provider: 'openai-compatible', backends: Array.from({ length: count }, (_, i) => ({ name: `b${i + 1}`, upstreamUrl })) };
}

export interface SeedManyResult {
  /** Primary keys of the projects created here (not counting the one seedBench made). */
  keys: string[];
  seconds: number;
  /** True when the deadline stopped seeding before `count` projects existed. */
  truncated: boolean;
}

/**
 * Creates `count` more projects in the bench resource, each with its own limit, through the
 * admin API (two calls per project) with bounded concurrency. Stops early at the deadline.
 */
export async function seedManyProjects(
  gw: GatewayProcess,
  count: number,
  options: { concurrency: number; deadlineMs: number; first?: number; onProgress?: (done: number) => void },
): Promise<SeedManyResult> {
  const started = performance.now();
  const keys: string[] = [];
  const end = (options.first ?? 0) + count;
  let next = options.first ?? 0;
  let truncated = false;
  const worker = async () => {
    while (next < end) {
      if (performance.now() - started > options.deadlineMs) {
        truncated = true;
        return;
      }
      const name = `p-${String(next++).padStart(5, '0')}`;
      const project = await gw.admin('POST', '/resources/bench/projects', { name });
      await gw.admin('POST', '/gateways/bench-gw/limits', { project: name, ...HUGE_LIMIT });
      keys.push(project.keys.primary as string);
      if (keys.length % 1000 === 0) options.onProgress?.(keys.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { keys, seconds: (performance.now() - started) / 1000, truncated };
}

/**
 * The fast way to many projects: the same admin service code as the API (projects, keys, limits,
 * audit), run in this process against the gateway's SQLite data directory while it runs, with
 * no snapshot refresh per change. The gateway notices the new config version by its periodic
 * check (TOLLGATE_CONFIG_POLL_MS) and loads it once, as it would a change made by another node.
 * Uses the built dist/ modules, so the code matches the gateway being measured.
 */
export async function seedManyProjectsDirect(
  dataDir: string,
  first: number,
  count: number,
  options: { onProgress?: (done: number) => void } = {},
): Promise<SeedManyResult> {
  const started = performance.now();
  const dist = (p: string) => import(new URL(`../../dist/${p}`, import.meta.url).href);
  const [{ openSqliteStore }, { AdminService }, { SecretBox, loadSecretKey }, { createProviderRegistry }, { SYSTEM_PRINCIPAL }, { Agent }] =
    await Promise.all([
      dist('store/open-store.js'),
      dist('controlplane/admin-service.js'),
      dist('security/secret-box.js'),
      dist('providers/registry.js'),
      dist('controlplane/permissions.js'),
      import('undici'),
    ]);
  const store = openSqliteStore(dataDir);
  const dispatcher = new Agent();
  const keys: string[] = [];
  try {
    await store.migrate();
    const service = new AdminService({
      store,
      secrets: new SecretBox(loadSecretKey(process.env.TOLLGATE_SECRET_KEY, dataDir)),
      providers: createProviderRegistry({ dispatcher, timeoutMs: 10_000 }),
      onConfigChange: async () => {},
    });
    for (let i = first; i < first + count; i++) {
      const name = `p-${String(i).padStart(5, '0')}`;
      const project = await service.projects.create(SYSTEM_PRINCIPAL, 'bench', name);
      await service.limits.create(SYSTEM_PRINCIPAL, 'bench-gw', { project: name, ...HUGE_LIMIT });
      keys.push(project.keys.primary as string);
      if (keys.length % 1000 === 0) options.onProgress?.(keys.length);
    }
  } finally {
    await store.close();
    await dispatcher.close();
  }
  return { keys, seconds: (performance.now() - started) / 1000, truncated: false };
}

/** Waits until the gateway serves `key` (it loads seeded projects on its next config check); returns the seconds it took. */
export async function waitForKey(gw: GatewayProcess, key: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const res = await fetch(`${gw.url}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    await res.text();
    if (res.ok) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`the gateway did not pick up the seeded projects within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}
