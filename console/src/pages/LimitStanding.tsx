import type { LimitStatus } from '../api-types';
import { formatIn, formatNumber, formatTime, formatUtc } from '../format';
import { formatMicros } from '../usage-series';
import { useApiData } from '../use-api-data';

/** Limit standing is the limiter's live count: refreshed every few seconds. */
const STANDING_REFRESH_MS = 3000;

/** The live standing of one limit (`id`: a limit's id, or `default:<project>` for the gateway default). */
export function StandingCell({ gateway, id, scope }: { gateway: string; id: string; scope: string }) {
  const status = useApiData<LimitStatus>(`/gateways/${encodeURIComponent(gateway)}/limits/${encodeURIComponent(id)}/status`, STANDING_REFRESH_MS);
  if (!status.data) return status.error ? <span className="muted">{status.error.message}</span> : <span className="muted">…</span>;
  return <LimitStanding status={status.data} scope={scope} />;
}

/** A limit's live standing: used and remaining tokens, and when they free up, as bars. */
export function LimitStanding({ status, scope }: { status: LimitStatus; scope: string }) {
  return (
    <div className="standing">
      {status.tpm ? (
        <Meter
          label="Per minute"
          ariaLabel={`Tokens per minute used, ${scope}`}
          used={status.tpm.used}
          limit={status.tpm.limit}
          remaining={status.tpm.remaining}
          reset={status.tpm.used > 0 ? `window empties ${formatIn(status.tpm.resetAt)}` : 'window empty'}
        />
      ) : null}
      {status.quota ? (
        <Meter
          label={`Quota (${status.quota.period})`}
          ariaLabel={`Token quota used, ${scope}`}
          used={status.quota.used}
          limit={status.quota.limit}
          remaining={status.quota.remaining}
          reset={`resets ${formatIn(status.quota.resetAt)} (${formatUtc(status.quota.resetAt)})`}
        />
      ) : null}
      {status.budget ? (
        <Meter
          label={`Budget (${status.budget.period})`}
          ariaLabel={`Budget spent, ${scope}`}
          used={status.budget.spent.micros}
          limit={status.budget.limit.micros}
          remaining={status.budget.remaining.micros}
          format={(micros) => `${formatMicros(micros)} ${status.budget!.currency}`}
          reset={`resets ${formatIn(status.budget.resetAt)} (${formatTime(status.budget.resetAt, false)})`}
        />
      ) : null}
    </div>
  );
}

export function Meter(props: {
  label: string;
  ariaLabel: string;
  used: number;
  limit: number;
  remaining: number;
  reset: string;
  /** How amounts read (default: token counts). */
  format?: (n: number) => string;
}) {
  const { label, ariaLabel, used, limit, remaining, reset, format = formatNumber } = props;
  const share = limit > 0 ? Math.min(1, used / limit) : 1;
  const tone = share >= 0.9 ? 'meter-high' : share >= 0.7 ? 'meter-mid' : 'meter-low';
  const text = `${format(used)} / ${format(limit)} used`;
  return (
    <div className="meter-block">
      <div className="meter-caption">
        <span>{label}</span>
        <span>
          {text} · {format(remaining)} left
        </span>
      </div>
      <div
        className={`meter ${tone}`}
        role="meter"
        aria-label={ariaLabel}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={Math.min(used, limit)}
        aria-valuetext={`${text}, ${format(remaining)} left`}
      >
        <div className="meter-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <div className="meter-reset">{reset}</div>
    </div>
  );
}
