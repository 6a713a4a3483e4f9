import type { Operation } from '../providers/provider.js';

/** Ledger ids are `req_<time><node><seq>`: ordered by time, so time bounds are id bounds. */
export const LEDGER_ID_PREFIX = 'req';

export const OUTCOMES = ['ok', 'rate_limited', 'quota_exceeded', 'rejected', 'upstream_error', 'client_aborted'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One data-plane request, as the ledger keeps it. Names, not ids: they are what admins query by. */
export interface LedgerEntry {
  /** Time-ordered id: the logs API's cursor. */
  id: string;
  /** When the request completed (its start is atMs - latencyMs). */
  atMs: number;
  requestId: string;
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
}

export type UsageInterval = 'minute' | 'hour' | 'day';

export const INTERVAL_MS: Record<UsageInterval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export interface UsageQuery {
  gateway: string;
  fromMs: number;
  toMs: number;
  interval: UsageInterval;
  project?: string;
  deployment?: string;
  groupBy?: 'project' | 'deployment';
}

export interface UsagePoint {
  bucketMs: number;
  /** The project or deployment name when grouped. */
  group: string | null;
  requests: Record<Outcome, number> & { total: number };
  tokens: { prompt: number; completion: number; total: number };
  latencyMsSum: number;
}

export interface LogQuery {
  gateway: string;
  fromMs?: number;
  toMs?: number;
  project?: string;
  deployment?: string;
  outcome?: Outcome;
  /** An id from the previous page: entries older than it. */
  before?: string;
  limit: number;
}

/** Persistence of the ledger and its rollups (the same Kysely database as the config). */
export interface UsageStore {
  /** Appends entries and adds them to the minute, hour and day rollups, in one transaction. */
  append(entries: readonly LedgerEntry[]): Promise<void>;
  logs(query: LogQuery): Promise<LedgerEntry[]>;
  usage(query: UsageQuery): Promise<UsagePoint[]>;
  /** Deletes raw entries and minute rollups older than the cut-off; hour/day rollups are kept longer. */
  prune(beforeMs: number, rollupsBeforeMs: number): Promise<number>;
}
