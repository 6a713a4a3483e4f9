import { useState, type FormEvent } from 'react';
import { QUOTA_PERIODS, type GatewayProject, type McpServer, type QuotaPeriod } from '../api-types';
import { Field, FormError } from '../components/Field';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';

/** The Tools tab's dialogs: grant a server to a project (with an allow-list), add a call limit. */

interface ChoiceProps {
  gateway: string;
  servers: McpServer[];
  projects: GatewayProject[];
  onClose(): void;
  onDone(): void;
}

/** Tool names typed as a list: commas, spaces or new lines between them. */
const toolList = (text: string) => text.split(/[\s,]+/).filter((t) => t.length > 0);

export function GrantDialog({ gateway, servers, projects, onClose, onDone }: ChoiceProps) {
  const { api } = useSession();
  const [server, setServer] = useState(servers[0]?.name ?? '');
  const [project, setProject] = useState(projects[0]?.name ?? '');
  const [allTools, setAllTools] = useState(true);
  const [tools, setTools] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      await api.put(`/gateways/${gateway}/mcp-servers/${encodeURIComponent(server)}/projects/${encodeURIComponent(project)}`, { tools: allTools ? null : toolList(tools) });
      onDone();
    } catch (err) {
      setErrors(formErrorsOf(err, ['tools']));
      setPending(false);
    }
  };
  return (
    <Modal title="Grant access" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ServerProjectFields servers={servers} projects={projects} server={server} project={project} setServer={setServer} setProject={setProject} />
        <div className="field">
          <label>
            <input type="checkbox" checked={allTools} onChange={(e) => setAllTools(e.target.checked)} /> All tools of the server
          </label>
        </div>
        {allTools ? null : (
          <Field label="Allowed tools" error={errors.fields.tools} hint="Tool names, separated by commas or spaces. Only these are listed and callable.">
            {(control) => <input {...control} value={tools} onChange={(e) => setTools(e.target.value)} autoComplete="off" />}
          </Field>
        )}
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending || !server || !project}>
            {pending ? 'Granting…' : 'Grant'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function CallLimitDialog({ gateway, servers, projects, onClose, onDone }: ChoiceProps) {
  const { api } = useSession();
  const [server, setServer] = useState(servers[0]?.name ?? '');
  const [project, setProject] = useState(projects[0]?.name ?? '');
  const [tool, setTool] = useState('');
  const [perMinute, setPerMinute] = useState('');
  const [quota, setQuota] = useState('');
  const [period, setPeriod] = useState<QuotaPeriod>('daily');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const count = (text: string) => (text.trim() === '' ? null : Number(text));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    const callQuota = count(quota);
    try {
      await api.post(`/gateways/${gateway}/mcp-limits`, {
        project,
        server,
        tool: tool.trim() || null,
        callsPerMinute: count(perMinute),
        callQuota,
        quotaPeriod: callQuota === null ? null : period,
      });
      onDone();
    } catch (err) {
      setErrors(formErrorsOf(err, ['tool', 'callsPerMinute', 'callQuota', 'quotaPeriod'], { limit_exists: 'tool' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Add call limit" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ServerProjectFields servers={servers} projects={projects} server={server} project={project} setServer={setServer} setProject={setProject} />
        <Field label="Tool" error={errors.fields.tool} hint="Leave empty to limit every tool of the server together.">
          {(control) => <input {...control} value={tool} onChange={(e) => setTool(e.target.value)} autoComplete="off" />}
        </Field>
        <Field label="Calls per minute" error={errors.fields.callsPerMinute}>
          {(control) => <input {...control} inputMode="numeric" value={perMinute} onChange={(e) => setPerMinute(e.target.value)} />}
        </Field>
        <Field label="Call quota" error={errors.fields.callQuota}>
          {(control) => <input {...control} inputMode="numeric" value={quota} onChange={(e) => setQuota(e.target.value)} />}
        </Field>
        <Field label="Quota period" error={errors.fields.quotaPeriod}>
          {(control) => (
            <select {...control} value={period} onChange={(e) => setPeriod(e.target.value as QuotaPeriod)}>
              {QUOTA_PERIODS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          )}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending || !server || !project}>
            {pending ? 'Adding…' : 'Add'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ServerProjectFields(props: { servers: McpServer[]; projects: GatewayProject[]; server: string; project: string; setServer(v: string): void; setProject(v: string): void }) {
  return (
    <>
      <Field label="MCP server">
        {(control) => (
          <select {...control} value={props.server} onChange={(e) => props.setServer(e.target.value)}>
            {props.servers.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Project">
        {(control) => (
          <select {...control} value={props.project} onChange={(e) => props.setProject(e.target.value)}>
            {props.projects.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        )}
      </Field>
    </>
  );
}
