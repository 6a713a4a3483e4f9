import { useState } from 'react';
import type { Agent, AgentStatus, Gateway, GatewayProject, List } from '../api-types';
import { Badge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { CopyButton } from '../components/CopyButton';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { AgentDialog } from './AgentDialog';
import { AgentRequests } from './AgentRequests';

function AgentStatusBadge({ status }: { status: AgentStatus }) {
  if (status === 'running') return <Badge tone="ok">Running</Badge>;
  if (status === 'blocked') return <Badge tone="error">Blocked</Badge>;
  return <Badge tone="pending">Unknown</Badge>;
}

/** Agents: custom HTTP and A2A agents registered on the gateway, their proxy URLs, block and unblock. */
export function AgentsTab({ gateway }: { gateway: Gateway }) {
  const { api, can } = useSession();
  const base = `/gateways/${encodeURIComponent(gateway.name)}`;
  // The status comes from background health checks: refreshed while the tab is open.
  const agents = useApiData<List<Agent>>(`${base}/agents`, () => 10_000);
  const projects = useApiData<List<GatewayProject>>(`${base}/projects`);
  const [adding, setAdding] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = agents.data?.items;

  const addButton = can.manageGateways ? (
    <button type="button" className="primary" onClick={() => setAdding(true)}>
      + Register agent
    </button>
  ) : null;

  const toggle = (agent: Agent) => {
    const blocking = agent.status !== 'blocked';
    setConfirm({
      title: blocking ? `Block agent ${agent.name}?` : `Unblock agent ${agent.name}?`,
      message: blocking ? (
        <p>
          Every request to <strong>{agent.name}</strong> through the gateway will be refused (403, <code>agent_blocked</code>) on every node
          within a second, until it is unblocked.
        </p>
      ) : (
        <p>
          Requests to <strong>{agent.name}</strong> will reach the agent again, from the next one.
        </p>
      ),
      confirmLabel: blocking ? 'Block agent' : 'Unblock agent',
      action: async () => {
        await api.post(`${base}/agents/${encodeURIComponent(agent.name)}/${blocking ? 'block' : 'unblock'}`);
        agents.reload();
      },
    });
  };

  return (
    <section aria-labelledby="agents-title">
      <div className="section-head">
        <h2 id="agents-title">Agents</h2>
        {items?.length === 0 ? null : addButton}
      </div>
      <p className="lede">
        Register a custom HTTP or A2A agent to govern it: clients call its proxy URL with a project key (in <code>api-key</code>), the agent’s
        own authentication passes through, and every request is logged and can be limited or blocked.
      </p>
      <LoadError error={agents.error} onRetry={agents.reload} />
      {!items ? (
        agents.error ? null : <Loading what="agents" />
      ) : items.length === 0 ? (
        <EmptyState title="No agents registered on this gateway yet." action={addButton}>
          {can.manageGateways ? 'Register an agent to give clients a governed proxy URL for it.' : null}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Agents">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Protocol</th>
                <th scope="col">Project</th>
                <th scope="col">Proxy URL</th>
                {can.manageGateways ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((agent) => (
                <tr key={agent.name}>
                  <td>
                    {agent.name}
                    {agent.description ? <div className="field-hint">{agent.description}</div> : null}
                  </td>
                  <td>
                    <AgentStatusBadge status={agent.status} />
                  </td>
                  <td>{agent.protocol === 'a2a' ? 'A2A' : 'HTTP'}</td>
                  <td>
                    {agent.project}
                    {agent.projects.length > 0 ? <div className="field-hint">also: {agent.projects.join(', ')}</div> : null}
                  </td>
                  <td>
                    <code>{agent.proxyUrl}</code> <CopyButton value={agent.proxyUrl} label={`Copy the proxy URL of ${agent.name}`} />
                  </td>
                  {can.manageGateways ? (
                    <td className="actions">
                      <button
                        type="button"
                        className={agent.status === 'blocked' ? undefined : 'danger-outline'}
                        aria-label={`${agent.status === 'blocked' ? 'Unblock' : 'Block'} agent ${agent.name}`}
                        onClick={() => toggle(agent)}
                      >
                        {agent.status === 'blocked' ? 'Unblock' : 'Block'}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items && items.length > 0 ? <AgentRequests gateway={gateway} /> : null}
      {adding ? (
        <AgentDialog
          gateway={gateway.name}
          projects={projects.data?.items ?? []}
          onClose={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            agents.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}
