import type { LogEntry } from '../api-types';
import { formatDateTime, formatNumber } from '../format';

const SCOPE_LABELS = { 'project-wide': 'project-wide (all deployments)', 'per-deployment': 'per deployment', default: "the gateway's default project limit" };

/** Everything the ledger kept of one request: why it was refused, what it reserved, what the client was told. */
export function LogDetails({ entry: e }: { entry: LogEntry }) {
  const rows: Array<[string, React.ReactNode]> = [
    ['Request id', <span className="mono">{e.requestId}</span>],
    ['Started', formatDateTime(e.startedAt)],
    ['Completed', formatDateTime(e.time)],
    ['Operation', `${e.operation}${e.stream ? ' (stream)' : ''}`],
    ['Status', `${e.status}${e.errorCode ? ` ${e.errorCode}` : ''}${e.upstreamStatus !== null ? ` (upstream ${e.upstreamStatus})` : ''}`],
    ['Tokens', `${formatNumber(e.tokens.prompt)} prompt + ${formatNumber(e.tokens.completion)} completion = ${formatNumber(e.tokens.total)}`],
    ['Reserved', e.reservedTokens === null ? 'nothing (no limit applied)' : `${formatNumber(e.reservedTokens)} tokens`],
  ];
  if (e.maxTokensCapped !== null) rows.push(['Completion capped', `to ${formatNumber(e.maxTokensCapped)} tokens (no max_tokens given; the limit holds less than the default)`]);
  if (e.refusal) {
    const r = e.refusal;
    rows.push(
      ['Refused by limit', <span className="mono">{r.limitId}</span>],
      ['Limit', `${r.kind === 'tpm' ? 'tokens per minute' : 'token quota'}: ${formatNumber(r.limit)}, ${SCOPE_LABELS[r.scope]}`],
      ['Left when refused', r.remaining === null ? 'unknown' : `${formatNumber(r.remaining)} tokens`],
      ['Retry helps', r.neverFits ? 'no: the request is larger than the whole limit' : 'yes, after Retry-After'],
    );
  }
  if (e.message !== null) rows.push(['Message to the client', <q>{e.message}</q>]);
  if (e.backend !== null) rows.push(['Backend', `${e.backend} (${e.attempts ?? 1} upstream call${e.attempts === 1 ? '' : 's'})`]);
  rows.push(['Latency', `${formatNumber(e.latencyMs)} ms${e.upstreamMs !== null ? ` (upstream ${formatNumber(e.upstreamMs)} ms, gateway ${formatNumber(e.overheadMs ?? 0)} ms)` : ''}`]);
  return (
    <div className="log-details" data-testid="log-details">
      <dl>
        {rows.map(([term, value]) => (
          <div key={term} className="detail-row">
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {e.content !== null ? <pre className="log-content">{JSON.stringify(e.content, null, 2)}</pre> : null}
    </div>
  );
}
