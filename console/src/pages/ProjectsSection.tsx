import { useState, type FormEvent } from 'react';
import type { CreatedProject, List, Project, RegeneratedKey } from '../api-types';
import { ProjectStatusBadge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { SecretValue } from '../components/SecretValue';
import { formatDateTime } from '../format';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

/** Keys shown once, right after they were made. */
type ShownKeys = { title: string; project: string; keys: Array<{ label: string; value: string }> };

/** A resource's projects and their API keys (create, rotate, delete). */
export function ProjectsSection({ resource, hasGateway }: { resource: string; hasGateway: boolean }) {
  const { api, can } = useSession();
  const base = `/resources/${encodeURIComponent(resource)}/projects`;
  const projects = useApiData<List<Project>>(base);
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<ShownKeys | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const manage = can.manageProjects(resource);
  const items = projects.data?.items;

  const createButton = manage ? (
    <button type="button" className="primary" onClick={() => setCreating(true)}>
      Create project
    </button>
  ) : null;

  const regenerate = (project: Project, slot: 'primary' | 'secondary') =>
    setConfirm({
      title: `Regenerate the ${slot} key of ${project.name}?`,
      message: (
        <p>
          The current {slot} key (<code>{project.keyHints[slot]}…</code>) stops working at once. The {slot === 'primary' ? 'secondary' : 'primary'}{' '}
          key keeps working, so clients can move over without downtime.
        </p>
      ),
      confirmLabel: `Regenerate ${slot} key`,
      action: async () => {
        const result = await api.post<RegeneratedKey>(`${base}/${encodeURIComponent(project.name)}/keys/${slot}/regenerate`);
        projects.reload();
        setShown({ title: `New ${slot} key of ${project.name}`, project: project.name, keys: [{ label: `${capitalize(slot)} key`, value: result.key }] });
      },
    });

  const remove = (project: Project) =>
    setConfirm({
      title: `Delete project ${project.name}?`,
      message: (
        <p>
          Its two API keys stop working at once and its token limits are deleted. The request log keeps its past requests. This cannot be
          undone.
        </p>
      ),
      confirmLabel: 'Delete project',
      action: async () => {
        await api.delete(`${base}/${encodeURIComponent(project.name)}`);
        projects.reload();
      },
    });

  return (
    <section aria-labelledby="projects-title" className="subsection">
      <div className="section-head">
        <h2 id="projects-title">Projects</h2>
        {items?.length === 0 ? null : createButton}
      </div>
      <LoadError error={projects.error} onRetry={projects.reload} />
      {!items ? (
        projects.error ? null : <Loading what="projects" />
      ) : items.length === 0 ? (
        <EmptyState title="No projects yet." action={createButton}>
          A project is a team or application: it gets two API keys to call this resource's deployments.
          {hasGateway ? ' New projects are enabled on the gateway at once.' : ' Add an AI gateway to the resource to let projects call it.'}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Projects">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Gateway status</th>
                <th scope="col">Keys</th>
                <th scope="col">Created</th>
                {manage ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.name}>
                  <td>{p.name}</td>
                  <td>
                    <ProjectStatusBadge status={p.gatewayStatus} />
                  </td>
                  <td className="mono small nowrap">
                    primary {p.keyHints.primary}…<br />
                    secondary {p.keyHints.secondary}…
                  </td>
                  <td className="nowrap">{formatDateTime(p.createdAt)}</td>
                  {manage ? (
                    <td className="actions">
                      <button type="button" aria-label={`Regenerate primary key of ${p.name}`} onClick={() => regenerate(p, 'primary')}>
                        Regenerate primary
                      </button>
                      <button type="button" aria-label={`Regenerate secondary key of ${p.name}`} onClick={() => regenerate(p, 'secondary')}>
                        Regenerate secondary
                      </button>
                      <button type="button" className="danger-outline" aria-label={`Delete project ${p.name}`} onClick={() => remove(p)}>
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
      {creating ? (
        <CreateProjectDialog
          resource={resource}
          onClose={() => setCreating(false)}
          onCreated={(project) => {
            setCreating(false);
            projects.reload();
            setShown({
              title: `Project ${project.name} created`,
              project: project.name,
              keys: [
                { label: 'Primary key', value: project.keys.primary },
                { label: 'Secondary key', value: project.keys.secondary },
              ],
            });
          }}
        />
      ) : null}
      {shown ? <KeysDialog shown={shown} onClose={() => setShown(null)} /> : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function CreateProjectDialog({ resource, onClose, onCreated }: { resource: string; onClose(): void; onCreated(project: CreatedProject): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      onCreated(await api.post<CreatedProject>(`/resources/${encodeURIComponent(resource)}/projects`, { name: name.trim() }));
    } catch (err) {
      setErrors(formErrorsOf(err, ['name'], { already_exists: 'name' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Create project" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={errors.fields.name} hint="A team or application, e.g. search-team. Lowercase letters, digits and “-”.">
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function KeysDialog({ shown, onClose }: { shown: ShownKeys; onClose(): void }) {
  return (
    <Modal title={shown.title} onClose={onClose} wide>
      <p className="warning" role="note">
        <strong>Copy {shown.keys.length === 1 ? 'this key' : 'these keys'} now: you won't see {shown.keys.length === 1 ? 'it' : 'them'} again.</strong>{' '}
        Tollgate stores only a hash. Lost a key? Regenerate it.
      </p>
      {shown.keys.map((k) => (
        <SecretValue key={k.label} label={k.label} value={k.value} />
      ))}
      <p className="field-hint">
        Use a key as the API key of the OpenAI SDK with <code>baseURL: {window.location.origin}/openai/v1</code>, or of the Anthropic SDK
        with <code>baseURL: {window.location.origin}/anthropic</code>, and a deployment name as the model.
      </p>
      <div className="form-actions">
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
