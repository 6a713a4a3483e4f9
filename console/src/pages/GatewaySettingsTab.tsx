import { useState } from 'react';
import { messageOf } from '../api';
import type { Gateway } from '../api-types';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { FormError } from '../components/Field';
import { useNotify } from '../components/Toast';
import { navigate } from '../router';
import { useSession } from '../session';
import { CorsSetting } from './CorsSetting';
import { DefaultLimitSetting } from './DefaultLimitSetting';

/** Content logging, the default project limit, browser access (CORS) and deleting the gateway. */
export function GatewaySettingsTab({ gateway, onChanged }: { gateway: Gateway; onChanged(updated: Gateway): void }) {
  const { api, can } = useSession();
  const notify = useNotify();
  /** The value being saved, shown at once. */
  const [saving, setSaving] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const path = `/gateways/${encodeURIComponent(gateway.name)}`;

  const setLogContent = async (logContent: boolean) => {
    setSaving(logContent);
    setError(null);
    try {
      onChanged(await api.patch<Gateway>(path, { logContent }));
      notify(logContent ? 'Request content is now logged.' : 'Request content is no longer logged.');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(null);
    }
  };

  return (
    <section aria-labelledby="gateway-settings-title">
      <h2 id="gateway-settings-title">Settings</h2>
      <div className="setting">
        <label className="toggle">
          <input
            type="checkbox"
            checked={saving ?? gateway.logContent}
            disabled={!can.manageGateways || saving !== null}
            onChange={(e) => setLogContent(e.target.checked)}
          />
          Log request content (prompts and completions)
        </label>
        <p className="field-hint">
          Off by default. When on, the request log keeps each request's messages and the model's answer, visible to every admin who can
          read logs.
        </p>
        <FormError message={error} />
      </div>
      <DefaultLimitSetting gateway={gateway} onChanged={onChanged} />
      <CorsSetting gateway={gateway} onChanged={onChanged} />
      {can.manageGateways ? (
        <div className="danger-zone">
          <h3>Delete gateway</h3>
          <p>
            Its token limits go with it; the resource, its deployments and projects, and the instance stay. While projects are
            still enabled on it, the dialog offers to disable them all and delete in one step.
          </p>
          <button
            type="button"
            className="danger"
            onClick={() =>
              setConfirm({
                title: `Delete gateway ${gateway.name}?`,
                message: (
                  <p>
                    <strong>{gateway.name}</strong> and its token limits will be deleted. Instance {gateway.instance} becomes free for another
                    gateway. This cannot be undone.
                  </p>
                ),
                confirmLabel: 'Delete gateway',
                action: async () => {
                  await api.delete(path);
                  notify(`Gateway ${gateway.name} deleted.`);
                  navigate('gateways');
                },
                fallback: {
                  code: 'gateway_has_enabled_projects',
                  label: 'Disable all projects and delete',
                  explain: (message) => {
                    const names = /enabled projects \(([^)]*)\)/.exec(message)?.[1];
                    return (
                      <p>
                        Projects {names ? <strong>{names}</strong> : null} are still enabled on {gateway.name}. Disable all of them and delete
                        the gateway in one step? Their clients are refused from then on.
                      </p>
                    );
                  },
                  action: async () => {
                    await api.delete(`${path}?disableProjects=true`);
                    notify(`Gateway ${gateway.name} deleted; its projects were disabled.`);
                    navigate('gateways');
                  },
                },
              })
            }
          >
            Delete gateway
          </button>
        </div>
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}
