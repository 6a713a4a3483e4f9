import type { Operation } from '../providers/provider.js';

/** Ledger ids are `req_<time><node><seq>`: ordered by time, so time bounds are id bounds. */
export const LEDGER_ID_PREFIX = 'req';

/** never_fits: refused because the reservation is larger than a whole limit (no retry helps). */
export const OUTCOMES = ['ok', 'rate_limited', 'quota_exceeded', 'rejected', 'upstream_error', 'client_aborted', 'never_fits'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * One data-plane request, as the ledger keeps it: the gateway by its id (a deleted gateway's history
 * stays its own, a new gateway of the same name starts empty), project and deployment by name.
 */
export interface LedgerEntry {
  /** Time-ordered id: the logs API's cursor. */
  id: string;
  /** When the request completed (its start is atMs - latencyMs). */
  atMs: number;
  requestId: string;
  /** The gateway's id (rows of gateways deleted before migration 0014-refusals-gateway-ids: its name). */
  gateway: string;
  project: string;
  deployment: string | null;
  operation: Operation;
  stream: boolean;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  upstreamStatus: number | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  latencyMs: number;
  upstreamMs: number | null;
  overheadMs: number | null;
  /** Prompt and completion, only where the gateway's logContent setting is on. */
  content: string | null;
  /** The backend of a pool that answered (the last tried) and the upstream calls made; null without a pool. */
  backend?: string | null;
  attempts?: number | null;
  /** Tokens reserved against the limits (absent: none applied, or refused before reserving). */
  reservedTokens?: number | null;
  /** The completion maximum the gateway set upstream, when the request named none and its limits hold less than the default. */
  maxTokensCapped?: number | null;
  /** The limit that refused the request, when one did. */
  refusal?: LimitRefusal | null;
  /** The error message the client got (null: it got an answer). */
  message?: string | null;
  /**
   * The exact cost of the request in micro-units (millionths) of `currency` (see pricing.ts);
   * null (or absent) with no currency when its deployment has no prices.
   */
  costMicros?: number | null;
  currency?: string | null;
}

/** Where a limit scope comes from: the project's own limits, or the gateway's default project limit. */
export type LimitScope = 'project-wide' | 'per-deployment' | 'default';

/** Which limit refused a request, and what it had left at that moment. */
export interface LimitRefusal {
  limitId: string;
  scope: LimitScope;
  kind: 'tpm' | 'quota' | 'budget';
  /** The limit's value: tokens per minute, or the quota (a budget: micro-units). */
  limit: number;
  /** Tokens left under that limit when it refused (a budget: micro-units; null: not known). */
  remaining: number | null;
}

export type UsageInterval = 'minute' | 'hour' | 'day';

export const INTERVAL_MS: Record<UsageInterval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** One row of a rollup table: the sums of the entries of a (gateway, project, deployment, bucket). */
export interface RollupRow {
  gateway: string;
  project: string;
  /** '' for requests refused before a deployment was known. */
  deployment: string;
  bucket_ms: number;
  requests: number;
  ok: number;
  rate_limited: number;
  quota_exceeded: number;
  rejected: number;
  upstream_error: number;
  client_aborted: number;
  never_fits: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  latency_ms: number;
  /** The currency of cost_micros; '' for rows without cost. Part of the row's key. */
  currency: string;
  cost_micros: number;
}

/** Rollup rows to add, per interval. */
export type Rollups = Record<UsageInterval, RollupRow[]>;

/**
 * A ledger writer's mark: its log rows with ids above `throughId` are not in the rollups yet. It
 * lives in the same transactions as the writer's log rows and rollups; `seenMs` is when the writer
 * last moved or refreshed it, so a mark that stops moving is a writer that died.
 */
export interface RollupMark {
  writer: string;
  throughId: string;
  seenMs: number;
}

/** One ledger entry's use, as recentUse() reads it. */
export interface RecentUse {
  gateway: string;
  project: string;
  deployment: string | null;
  /** When the request began (it was charged then). */
  startMs: number;
  tokens: number;
  /** Its cost in micro-units of `currency` (0 and null without prices). */
  costMicros: number;
  currency: string | null;
}

export interface UsageQuery {
  /** The gateway's ledger key; absent: every gateway (group by gateway to tell them apart). */
  gateway?: string;
  fromMs: number;
  toMs: number;
  interval: UsageInterval;
  project?: string;
  deployment?: string;
  groupBy?: 'project' | 'deployment' | 'gateway';
}

export interface UsagePoint {
  bucketMs: number;
  /** The project or deployment name when grouped. */
  group: string | null;
  requests: Record<Outcome, number> & { total: number };
  tokens: { prompt: number; completion: number; total: number };
  latencyMsSum: number;
  /** Cost in micro-units per currency (ISO 4217 code → micro-units); {} when nothing was priced. */
  cost: Record<string, number>;
}

export interface LogQuery {
  gateway: string;
  fromMs?: number;
  toMs?: number;
  project?: string;
  deployment?: string;
  outcome?: Outcome;
  /** The request id the client was given (x-request-id). */
  requestId?: string;
  /** An id from the previous page: entries older than it. */
  before?: string;
  limit: number;
}

/** Persistence of the ledger and its rollups (the same Kysely database as the config). */
export interface UsageStore {
  /**
   * Appends entries and adds them to the minute, hour and day rollups, in one transaction. For
   * entries of a writer without a mark (usage() would count a marked writer's rows twice).
   */
  append(entries: readonly LedgerEntry[]): Promise<void>;
  /**
   * Appends entries to the log only; their rollups follow later through addRollups(). In the
   * same transaction, and before the rows, refreshes the writer's mark (its seenMs) or, when it
   * has none, creates `mark`. Answers the throughId of a mark it had to create, else null: the
   * writer had no mark — none yet, or another node found it stale and rebuilt the rollups of
   * every row of the writer up to that id. Touching the mark first makes such a node wait for
   * this transaction and then see its rows, or makes this one see that the mark is gone.
   */
  appendLog(entries: readonly LedgerEntry[], mark: RollupMark): Promise<string | null>;
  /**
   * Adds rollups and moves the writer's mark to `mark`, in one transaction. False, with nothing
   * written, when the writer has no mark (another node found it stale and rebuilt its rollups).
   */
  addRollups(rollups: Rollups, mark: RollupMark): Promise<boolean>;
  /** Drops the writer's mark: everything it wrote is in the rollups. */
  releaseMark(writer: string): Promise<void>;
  /**
   * Rebuilds, from the log, the rollups of writers (but `self`) whose mark has not moved since
   * `staleBeforeMs` (they died before adding them), then drops their marks. Returns the entries
   * it added.
   */
  recoverRollups(staleBeforeMs: number, self: string): Promise<number>;
  logs(query: LogQuery): Promise<LedgerEntry[]>;
  /**
   * The tokens of every entry since `fromMs` that used some, with when each began: what a limit's
   * TPM window holds, for seeding the counters from the ledger.
   */
  recentUse(fromMs: number): Promise<RecentUse[]>;
  /** Entries of every gateway with ids above `afterId`, oldest first, at most `limit`: for replaying the ledger. */
  entriesAfter(afterId: string, limit: number): Promise<LedgerEntry[]>;
  /**
   * Usage per bucket, exact up to the last log write: the rollups, plus the log rows not in them
   * yet (each writer's rows above its mark), read in one snapshot so each counts once.
   */
  usage(query: UsageQuery): Promise<UsagePoint[]>;
  /** Deletes raw entries and minute rollups older than the cut-off; hour/day rollups are kept longer. */
  prune(beforeMs: number, rollupsBeforeMs: number): Promise<number>;
}
