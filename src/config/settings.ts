import { z } from 'zod';

/**
 * Process settings: environment variables, overridden by CLI flags. Validated once at start-up
 * and frozen; a bad value stops the process with a message naming the variable.
 */
const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('0.0.0.0'),
  dataDir: z.string().min(1).default('./data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  maxBodyBytes: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  upstreamTimeoutMs: z.coerce.number().int().min(100).default(300_000),
  requestTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  maxUpstreamBodyBytes: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  maxConnections: z.coerce.number().int().min(1).default(10_000),
  authFailuresPerMinute: z.coerce.number().int().min(0).default(20),
  trustProxy: z.preprocess((v) => (v === undefined ? 'false' : String(v)), z.enum(['true', 'false'])).transform((v) => v === 'true'),
  configPollMs: z.coerce.number().int().min(50).default(1000),
  shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
  defaultCompletionReservation: z.coerce.number().int().min(1).default(1024),
  reservationTtlMs: z.coerce.number().int().min(1000).default(15 * 60_000),
  limiterCheckpointMs: z.coerce.number().int().min(100).default(5000),
  ledger: z.enum(['on', 'off']).default('on'),
  ledgerRetentionDays: z.coerce.number().int().min(1).default(30),
  // Short, so queued entries die young: held for 250 ms, most outlived two scavenges and became
  // old-space garbage (twice as many full collections under load, each a pause of ~10 ms).
  ledgerFlushMs: z.coerce.number().int().min(10).default(50),
  ledgerRollupMs: z.coerce.number().int().min(10).default(5000),
  metricsToken: z.string().min(1).optional(),
  heartbeatMs: z.coerce.number().int().min(100).default(5000),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  redisPrefix: z.string().min(1).default('tollgate:'),
  limiterFailurePolicy: z.enum(['fail-closed', 'fail-open']).default('fail-closed'),
  failOpenShare: z.coerce.number().gt(0).max(1).default(1),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  secretKey: z.string().optional(),
  heapGrowthPercent: z.coerce.number().int().min(0).max(1000).default(50),
  /** How clients reach the gateway (agent proxy URLs); unset: taken from each request's Host. */
  publicUrl: z.string().regex(/^https?:\/\/[^/]+/, 'must be an http:// or https:// URL').optional(),
  agentHealthMs: z.coerce.number().int().min(100).default(30_000),
});

export type Settings = Readonly<z.infer<typeof schema>>;

/** Environment variable behind each setting (documented in README). */
export const ENV_NAMES: Record<keyof z.infer<typeof schema>, string> = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'TOLLGATE_DATA_DIR',
  logLevel: 'TOLLGATE_LOG_LEVEL',
  maxBodyBytes: 'TOLLGATE_MAX_BODY_BYTES',
  upstreamTimeoutMs: 'TOLLGATE_UPSTREAM_TIMEOUT_MS',
  requestTimeoutMs: 'TOLLGATE_REQUEST_TIMEOUT_MS',
  maxUpstreamBodyBytes: 'TOLLGATE_MAX_UPSTREAM_BODY_BYTES',
  maxConnections: 'TOLLGATE_MAX_CONNECTIONS',
  authFailuresPerMinute: 'TOLLGATE_AUTH_FAILURES_PER_MINUTE',
  trustProxy: 'TOLLGATE_TRUST_PROXY',
  configPollMs: 'TOLLGATE_CONFIG_POLL_MS',
  shutdownGraceMs: 'TOLLGATE_SHUTDOWN_GRACE_MS',
  defaultCompletionReservation: 'TOLLGATE_DEFAULT_COMPLETION_RESERVATION',
  reservationTtlMs: 'TOLLGATE_RESERVATION_TTL_MS',
  limiterCheckpointMs: 'TOLLGATE_LIMITER_CHECKPOINT_MS',
  ledger: 'TOLLGATE_LEDGER',
  ledgerRetentionDays: 'TOLLGATE_LEDGER_RETENTION_DAYS',
  ledgerFlushMs: 'TOLLGATE_LEDGER_FLUSH_MS',
  ledgerRollupMs: 'TOLLGATE_LEDGER_ROLLUP_MS',
  metricsToken: 'TOLLGATE_METRICS_TOKEN',
  heartbeatMs: 'TOLLGATE_HEARTBEAT_MS',
  databaseUrl: 'DATABASE_URL',
  redisUrl: 'REDIS_URL',
  redisPrefix: 'TOLLGATE_REDIS_PREFIX',
  limiterFailurePolicy: 'TOLLGATE_LIMITER_FAILURE_POLICY',
  failOpenShare: 'TOLLGATE_FAIL_OPEN_SHARE',
  adminToken: 'TOLLGATE_ADMIN_TOKEN',
  secretKey: 'TOLLGATE_SECRET_KEY',
  heapGrowthPercent: 'TOLLGATE_HEAP_GROWTH_PERCENT',
  publicUrl: 'TOLLGATE_PUBLIC_URL',
  agentHealthMs: 'TOLLGATE_AGENT_HEALTH_MS',
};

export function loadSettings(env: NodeJS.ProcessEnv, overrides: Partial<Record<keyof Settings, unknown>> = {}): Settings {
  const raw: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const value = env[envName];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]) as keyof typeof ENV_NAMES;
    throw new Error(`invalid setting ${ENV_NAMES[key] ?? key}: ${issue.message}`);
  }
  return Object.freeze(result.data);
}
