import { ApiError } from '../api';
import type { Gateway, List, Resource } from '../api-types';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { Link } from '../router';
import { useApiData } from '../use-api-data';
import { DeploymentsSection } from './DeploymentsSection';
import { ProjectsSection } from './ProjectsSection';
import { McpServersSection } from './McpServersSection';

/** One resource: its deployments and its projects (with their keys). */
export function ResourcePage({ name }: { name: string }) {
  const resource = useApiData<Resource>(`/resources/${encodeURIComponent(name)}`);
  const gateways = useApiData<List<Gateway>>('/gateways');
  const r = resource.data;
  if (!r) {
    if (resource.error instanceof ApiError && resource.error.code === 'not_found') {
      return (
        <EmptyState title={`There is no resource “${name}”.`} action={<Link to="resources">Back to Resources</Link>}>
          It may have been deleted.
        </EmptyState>
      );
    }
    return resource.error ? <LoadError error={resource.error} onRetry={resource.reload} /> : <Loading what="the resource" />;
  }
  const gateway = gateways.data?.items.find((g) => g.resource === r.name);
  return (
    <section aria-labelledby="resource-title">
      <p className="breadcrumb">
        <Link to="resources">Resources</Link> / {r.name}
      </p>
      <div className="page-head">
        <h1 id="resource-title">{r.name}</h1>
      </div>
      {r.description ? <p className="lede">{r.description}</p> : null}
      <dl className="facts">
        <div>
          <dt>Gateway</dt>
          <dd>
            {gateway ? (
              <Link to={`gateways/${encodeURIComponent(gateway.name)}`}>{gateway.name}</Link>
            ) : gateways.data ? (
              <>
                None yet: <Link to="gateways">add an AI gateway</Link> to govern this resource.
              </>
            ) : (
              '…'
            )}
          </dd>
        </div>
      </dl>
      <DeploymentsSection resource={r.name} />
      <ProjectsSection resource={r.name} hasGateway={gateway !== undefined} />
      <McpServersSection resource={r.name} />
    </section>
  );
}
