import type { BackendStatusView, Deployment, DeploymentBackendsView } from '../api-types';
import { Badge } from '../components/Badge';
import { useApiData } from '../use-api-data';

/** How often the live state of a pool's backends is fetched again. */
const STATE_REFRESH_MS = 5_000;

const STATE_BADGES: Record<BackendStatusView['state'], { tone: 'ok' | 'warn' | 'error'; label: string }> = {
  closed: { tone: 'ok', label: 'healthy' },
  'half-open': { tone: 'warn', label: 'probing' },
  open: { tone: 'error', label: 'tripped' },
};

/**
 * A pool's backends, each with its breaker state polled from `…/deployments/{d}/backends`. When
 * that fails — a gateway without the endpoint answers 404 — the backends are still listed, with
 * "state unavailable" instead of a state; polling goes on, so the states appear once it answers.
 */
export function DeploymentBackends({ resource, deployment }: { resource: string; deployment: Deployment & { backends: NonNullable<Deployment['backends']> } }) {
  const path = `/resources/${encodeURIComponent(resource)}/deployments/${encodeURIComponent(deployment.name)}/backends`;
  const status = useApiData<DeploymentBackendsView>(path, STATE_REFRESH_MS);
  const byName = new Map((status.data?.items ?? []).map((s) => [s.name, s]));
  const unavailable = status.error !== null;
  return (
    <ul className="backend-list" aria-label={`Backends of ${deployment.name}`}>
      {deployment.backends.map((b) => {
        const live = byName.get(b.name);
        return (
          <li key={b.name}>
            <strong>{b.name}</strong> <span className="muted">priority {b.priority} · weight {b.weight}</span>{' '}
            {live ? <BackendState status={live} /> : unavailable ? <span className="muted">state unavailable</span> : null}
            <div className="muted">
              {b.upstreamUrl}
              {b.upstreamModel ? ` · model ${b.upstreamModel}` : ''}
              {b.hasUpstreamApiKey ? ' · key set' : ''}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

function BackendState({ status }: { status: BackendStatusView }) {
  const badge = STATE_BADGES[status.state];
  const details = [
    `${Math.round(status.share * 100)} % of ${status.requests} requests`,
    status.recentFailures > 0 ? `${status.recentFailures} recent failures` : null,
    status.openUntil ? `until ${new Date(status.openUntil).toLocaleTimeString()}` : null,
  ].filter(Boolean);
  return (
    <>
      <Badge tone={badge.tone}>{badge.label}</Badge> <span className="muted small">{details.join(' · ')}</span>
    </>
  );
}
