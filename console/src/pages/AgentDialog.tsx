import { useState, type FormEvent } from 'react';
import type { Agent, AgentProtocol, GatewayProject } from '../api-types';
import { Field, FormError } from '../components/Field';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';

const FIELDS = ['url', 'protocol', 'agentCardUrl', 'otelAgentId', 'adminPortalUrl', 'project', 'name', 'description'] as const;
const FIELD_OF_CODE = { already_exists: 'name' };
export const DEFAULT_CARD_PATH = '/.well-known/agent-card.json';

/** + Register agent: the managed gateway's form (Agent URL, Protocol, A2A card URL, OpenTelemetry id, portal, Project, name, Description). */
export function AgentDialog({ gateway, projects, onClose, onSaved }: { gateway: string; projects: GatewayProject[]; onClose(): void; onSaved(agent: Agent): void }) {
  const { api } = useSession();
  const [url, setUrl] = useState('');
  const [protocol, setProtocol] = useState<AgentProtocol>('http');
  const [cardUrl, setCardUrl] = useState(DEFAULT_CARD_PATH);
  const [otelAgentId, setOtelAgentId] = useState('');
  const [portal, setPortal] = useState('');
  const [project, setProject] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const chosenProject = project || projects[0]?.name || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const missing: Record<string, string> = {};
    if (url.trim() === '') missing.url = 'Enter the agent’s URL.';
    if (chosenProject === '') missing.project = 'Choose the project the agent belongs to.';
    if (name.trim() === '') missing.name = 'Name the agent: clients use the name in its proxy URL.';
    if (Object.keys(missing).length > 0) return setErrors({ fields: missing, form: null });
    setPending(true);
    setErrors(NO_ERRORS);
    const blank = (v: string) => (v.trim() === '' ? null : v.trim());
    try {
      const created = await api.post<Agent>(`/gateways/${encodeURIComponent(gateway)}/agents`, {
        name: name.trim(),
        project: chosenProject,
        url: url.trim(),
        protocol,
        ...(protocol === 'a2a' ? { agentCardUrl: blank(cardUrl) } : {}),
        otelAgentId: blank(otelAgentId),
        adminPortalUrl: blank(portal),
        description: blank(description),
      });
      onSaved(created);
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS, FIELD_OF_CODE));
      setPending(false);
    }
  };

  return (
    <Modal title="Register agent" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Agent URL" error={errors.fields.url} hint="Where the agent answers. Clients call its proxy URL instead; the agent’s own authentication still applies.">
          {(control) => <input {...control} type="url" required placeholder="https://agent.example.com/a2a" value={url} onChange={(e) => setUrl(e.target.value)} />}
        </Field>
        <Field label="Protocol" error={errors.fields.protocol}>
          {(control) => (
            <select {...control} value={protocol} onChange={(e) => setProtocol(e.target.value as AgentProtocol)}>
              <option value="http">HTTP</option>
              <option value="a2a">A2A</option>
            </select>
          )}
        </Field>
        {protocol === 'a2a' ? (
          <Field label="A2A agent card URL" error={errors.fields.agentCardUrl} hint="A path under the agent URL, or a full URL. The gateway serves the card rewritten to its proxy URL.">
            {(control) => <input {...control} value={cardUrl} onChange={(e) => setCardUrl(e.target.value)} />}
          </Field>
        ) : null}
        <Field label="OpenTelemetry Agent ID" error={errors.fields.otelAgentId} hint="Optional; kept on each request log row.">
          {(control) => <input {...control} value={otelAgentId} onChange={(e) => setOtelAgentId(e.target.value)} />}
        </Field>
        <Field label="Admin portal URL" error={errors.fields.adminPortalUrl} hint="Optional.">
          {(control) => <input {...control} type="url" value={portal} onChange={(e) => setPortal(e.target.value)} />}
        </Field>
        <Field label="Project" error={errors.fields.project} hint="The project the agent belongs to; others can be granted its use.">
          {(control) => (
            <select {...control} value={chosenProject} onChange={(e) => setProject(e.target.value)}>
              {projects.length === 0 ? <option value="">No projects in this resource</option> : null}
              {projects.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Agent name" error={errors.fields.name} hint="Lowercase letters, digits and “-”.">
          {(control) => <input {...control} required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Description" error={errors.fields.description}>
          {(control) => <textarea {...control} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Registering…' : 'Register agent'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
