import { useState, type FormEvent } from 'react';
import { MCP_AUTH_TYPES, type List, type McpAuthType, type McpServer } from '../api-types';
import { Badge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { messageOf } from '../api';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

const AUTH_LABELS: Record<McpAuthType, string> = { none: 'None', bearer: 'Bearer token', header: 'Custom header' };

export const McpStatusBadge = ({ status }: { status: 'active' | 'blocked' }) =>
  status === 'active' ? <Badge tone="ok">Active</Badge> : <Badge tone="error">Blocked</Badge>;

/** A resource's MCP servers: register, block or unblock, delete (docs/mcp.md). */
export function McpServersSection({ resource }: { resource: string }) {
  const { api, can } = useSession();
  const base = `/resources/${encodeURIComponent(resource)}/mcp-servers`;
  const servers = useApiData<List<McpServer>>(base);
  const [adding, setAdding] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const manage = can.manageResources;
  const items = servers.data?.items;

  const addButton = manage ? (
    <button type="button" className="primary" onClick={() => setAdding(true)}>
      Add MCP server
    </button>
  ) : null;

  const setStatus = async (s: McpServer, verb: 'block' | 'unblock') => {
    setError(null);
    try {
      await api.post(`${base}/${encodeURIComponent(s.name)}/${verb}`);
      servers.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const remove = (s: McpServer) =>
    setConfirm({
      title: `Delete MCP server ${s.name}?`,
      message: <p>Its grants and call limits are deleted with it, and clients of /mcp/{s.name} are refused at once. The call log keeps its past calls.</p>,
      confirmLabel: 'Delete MCP server',
      action: async () => {
        await api.delete(`${base}/${encodeURIComponent(s.name)}`);
        servers.reload();
      },
    });

  return (
    <section aria-labelledby="mcp-servers-title" className="subsection">
      <div className="section-head">
        <h2 id="mcp-servers-title">MCP servers</h2>
        {items?.length === 0 ? null : addButton}
      </div>
      <LoadError error={servers.error} onRetry={servers.reload} />
      <FormError message={error} />
      {!items ? (
        servers.error ? null : <Loading what="MCP servers" />
      ) : items.length === 0 ? (
        <EmptyState title="No MCP servers yet." action={addButton}>
          Register an MCP server (Streamable HTTP) to let projects use its tools through the gateway at /mcp/&lt;name&gt;, with their project key.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="MCP servers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">URL</th>
                <th scope="col">Upstream auth</th>
                <th scope="col">Gateway path</th>
                {manage ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.name}>
                  <td>
                    {s.name}
                    {s.description ? <div className="muted small">{s.description}</div> : null}
                  </td>
                  <td>
                    <McpStatusBadge status={s.status} />
                  </td>
                  <td className="mono small">{s.url}</td>
                  <td className="small">
                    {s.upstreamAuth.type === 'header' ? `${s.upstreamAuth.headerName} header` : AUTH_LABELS[s.upstreamAuth.type]}
                    {s.upstreamAuth.hasValue ? ' (set)' : ''}
                  </td>
                  <td className="mono small">{s.path}</td>
                  {manage ? (
                    <td className="actions">
                      {s.status === 'active' ? (
                        <button type="button" aria-label={`Block MCP server ${s.name}`} onClick={() => void setStatus(s, 'block')}>
                          Block
                        </button>
                      ) : (
                        <button type="button" aria-label={`Unblock MCP server ${s.name}`} onClick={() => void setStatus(s, 'unblock')}>
                          Unblock
                        </button>
                      )}
                      <button type="button" className="danger-outline" aria-label={`Delete MCP server ${s.name}`} onClick={() => remove(s)}>
                        Delete
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding ? (
        <AddMcpServerDialog
          resource={resource}
          onClose={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            servers.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

const FIELDS = ['name', 'url', 'upstreamAuth.type', 'upstreamAuth.headerName', 'upstreamAuth.value', 'description'];

function AddMcpServerDialog({ resource, onClose, onCreated }: { resource: string; onClose(): void; onCreated(): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [authType, setAuthType] = useState<McpAuthType>('none');
  const [headerName, setHeaderName] = useState('');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      await api.post(`/resources/${encodeURIComponent(resource)}/mcp-servers`, {
        name: name.trim(),
        url: url.trim(),
        ...(authType === 'none' ? {} : { upstreamAuth: { type: authType, ...(authType === 'header' ? { headerName: headerName.trim() } : {}), value } }),
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      onCreated();
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS, { already_exists: 'name' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Add MCP server" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={errors.fields.name} hint="Clients connect to /mcp/<name>. Lowercase letters, digits and “-”.">
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <Field label="Server URL" error={errors.fields.url} hint="The MCP server's Streamable HTTP endpoint, e.g. https://mcp.example.com/mcp.">
          {(control) => <input {...control} value={url} onChange={(e) => setUrl(e.target.value)} autoComplete="off" />}
        </Field>
        <Field label="Upstream authentication" error={errors.fields['upstreamAuth.type']} hint="What the gateway sends the server. Clients' keys never reach it.">
          {(control) => (
            <select {...control} value={authType} onChange={(e) => setAuthType(e.target.value as McpAuthType)}>
              {MCP_AUTH_TYPES.map((t) => (
                <option key={t} value={t}>
                  {AUTH_LABELS[t]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {authType === 'header' ? (
          <Field label="Header name" error={errors.fields['upstreamAuth.headerName']}>
            {(control) => <input {...control} value={headerName} onChange={(e) => setHeaderName(e.target.value)} autoComplete="off" />}
          </Field>
        ) : null}
        {authType !== 'none' ? (
          <Field label="Credential" error={errors.fields['upstreamAuth.value']} hint="Stored encrypted; never shown again.">
            {(control) => <input {...control} type="password" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />}
          </Field>
        ) : null}
        <Field label="Description" error={errors.fields.description}>
          {(control) => <input {...control} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Adding…' : 'Add'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
