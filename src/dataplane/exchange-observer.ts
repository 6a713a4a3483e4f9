import type { Operation } from '../providers/provider.js';
import type { LimitRefusal, Outcome } from '../usage/ledger.js';

/** What one data-plane exchange did, for the log line, the request ledger and the metrics. */
export interface ExchangeRecord {
  requestId: string;
  startedAtMs: number;
  durationMs: number;
  project?: string;
  gateway?: string;
  /** The gateway's id: what the ledger files the exchange under (names change hands, ids do not). */
  gatewayId?: string;
  deployment?: string;
  operation: Operation;
  stream: boolean;
  status?: number;
  upstreamStatus?: number;
  /** The backend of a pool that answered (the last one tried), and the upstream calls made. */
  backend?: string;
  attempts?: number;
  upstreamMs?: number;
  outcome: Outcome;
  errorCode?: string;
  reservedTokens?: number;
  /** The completion maximum set upstream when the gateway capped a request that named none. */
  maxTokensCapped?: number;
  /** The limit that refused the request; neverFits when no retry can help. */
  refusal?: LimitRefusal & { neverFits: boolean };
  /** The error message the client got. */
  message?: string;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  /** The exact cost in micro-units of `currency`, when the deployment has prices (see pricing.ts). */
  costMicros?: number;
  currency?: string;
  /** Prompt and completion, captured only for gateways that log content. */
  content?: string;
}

/** Told about every finished exchange, on the request path: must not block or do I/O. */
export interface ExchangeObserver {
  exchangeFinished(record: Readonly<ExchangeRecord>): void;
}
