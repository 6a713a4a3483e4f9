import type { Gateway, GatewayProject } from '../api-types';
import { Link } from '../router';
import { limitValuesText } from './limit-scope';
import { StandingCell } from './LimitStanding';

/**
 * The gateway's default project limit in Token management: its values, and the live standing of
 * each project running under it (enabled, without a limit on all deployments of its own).
 */
export function DefaultLimitStandings({ gateway, projects }: { gateway: Gateway; projects: GatewayProject[] | undefined }) {
  const values = gateway.defaultProjectLimit;
  if (!values) return null;
  const under = (projects ?? []).flatMap((p) => (p.limit?.source === 'gateway-default' ? [{ name: p.name, id: p.limit.id }] : []));
  return (
    <section aria-labelledby="default-limit-standings-title">
      <h3 id="default-limit-standings-title">Gateway default: {limitValuesText(values)}</h3>
      <p className="lede">
        Each enabled project without a limit on all deployments of its own is held to this, counted per project. Change it in{' '}
        <Link to={`gateways/${encodeURIComponent(gateway.name)}/settings`}>Settings</Link>.
      </p>
      {under.length === 0 ? (
        <p className="muted">No project runs under the default now.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Projects under the gateway default">
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col" className="standing-col">
                  Standing
                </th>
              </tr>
            </thead>
            <tbody>
              {under.map((p) => (
                <tr key={p.name}>
                  <td>{p.name}</td>
                  <td>
                    <StandingCell key={limitValuesText(values)} gateway={gateway.name} id={p.id} scope={`${p.name} under the gateway default`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
