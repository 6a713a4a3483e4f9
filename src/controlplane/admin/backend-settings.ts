import type { Backend, Deployment, Pricing, ProviderName } from '../../domain/model.js';
import { operationSpec } from '../../operations/registry.js';
import type { Provider, SettingProblem } from '../../providers/provider.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { SecretBox } from '../../security/secret-box.js';
import { hasUrlSecrets, isRedactedUrl, redactUrl } from '../../security/url-secrets.js';

/** A backend as the admin API and the config file give it: its key in clear, or absent to keep the stored one. */
export interface BackendInput {
  name: string;
  provider?: ProviderName | null;
  upstreamUrl: string;
  upstreamModel?: string | null;
  upstreamApiKey?: string | null;
  apiVersion?: string | null;
  priority?: number;
  weight?: number;
  pricing?: Pricing | null;
}

/**
 * The backends to store: URLs with credentials and keys sealed as a deployment's are. A backend
 * named as before keeps its sealed key when the input has none, and its sealed URL when the input
 * gives the URL as shown (redacted): a view or an export given back changes nothing.
 */
export function sealBackends(inputs: readonly BackendInput[], current: readonly Backend[] | null | undefined, secrets: SecretBox): Backend[] | SettingProblem {
  const before = new Map((current ?? []).map((b) => [b.name, b]));
  const out: Backend[] = [];
  for (const [i, b] of inputs.entries()) {
    const was = before.get(b.name);
    const field = `backends[${i}]`;
    let upstreamUrl = b.upstreamUrl;
    let upstreamUrlSealed: string | null = null;
    if (was && b.upstreamUrl === was.upstreamUrl) {
      upstreamUrlSealed = was.upstreamUrlSealed;
    } else if (hasUrlSecrets(b.upstreamUrl)) {
      if (isRedactedUrl(b.upstreamUrl)) {
        return { field: `${field}.upstreamUrl`, message: `${field}.upstreamUrl carries redacted credentials (***): give the URL with its real credentials` };
      }
      upstreamUrl = redactUrl(b.upstreamUrl);
      upstreamUrlSealed = secrets.seal(b.upstreamUrl);
    }
    out.push({
      name: b.name,
      provider: b.provider ?? null,
      upstreamUrl,
      upstreamUrlSealed,
      upstreamModel: b.upstreamModel ?? null,
      upstreamApiKeySealed:
        b.upstreamApiKey === undefined ? (was?.upstreamApiKeySealed ?? null) : b.upstreamApiKey === null || b.upstreamApiKey === '' ? null : secrets.seal(b.upstreamApiKey),
      apiVersion: b.apiVersion ?? null,
      priority: b.priority ?? 1,
      weight: b.weight ?? 1,
      // Absent: the prices stored for a backend of that name stay (a console edit that does not
      // show them keeps them); null removes them.
      ...((b.pricing === undefined ? was?.pricing : b.pricing) ? { pricing: (b.pricing === undefined ? was?.pricing : b.pricing)! } : {}),
    });
  }
  return out;
}

/**
 * The first problem with a deployment's pool: names unique; the deployment's own upstream URL and
 * key unset (a pool replaces them); each backend's provider of the deployment's API family (the
 * same operations) and content with the backend's settings. The field names the backend at fault.
 */
export function backendProblem(d: Deployment, providers: ProviderRegistry, secrets: SecretBox): SettingProblem | null {
  const backends = d.backends ?? [];
  if (d.upstreamUrl !== null) return { field: 'upstreamUrl', message: 'upstreamUrl must be unset on a deployment with backends: each backend has its own' };
  if (d.upstreamApiKeySealed !== null) return { field: 'upstreamApiKey', message: 'upstreamApiKey must be unset on a deployment with backends: each backend has its own' };
  const family = providers.get(d.provider);
  if (!family) return { field: 'provider', message: `provider "${d.provider}" is not available` };
  const seen = new Set<string>();
  for (const [i, b] of backends.entries()) {
    const field = `backends[${i}]`;
    if (seen.has(b.name)) return { field: `${field}.name`, message: `${field}.name "${b.name}" is used by another backend of this deployment: names must be unique` };
    seen.add(b.name);
    const provider = providers.get(b.provider ?? d.provider);
    if (!provider) return { field: `${field}.provider`, message: `${field}.provider "${b.provider}" is not available` };
    if (!sameFamily(family, provider)) {
      return {
        field: `${field}.provider`,
        message: `${field}.provider "${provider.name}" does not speak the API of the deployment's provider "${d.provider}": a pool's backends must speak the same API family`,
      };
    }
    const problem = provider.validate({
      upstreamUrl: b.upstreamUrlSealed === null ? b.upstreamUrl : secrets.open(b.upstreamUrlSealed),
      upstreamModel: b.upstreamModel ?? d.upstreamModel,
      hasUpstreamApiKey: b.upstreamApiKeySealed !== null,
      apiVersion: b.apiVersion ?? d.apiVersion,
      options: d.options,
    });
    if (problem) return { field: `${field}.${problem.field}`, message: `${field}: ${problem.message}` };
  }
  return null;
}

/** Same API family: the same client dialects (OpenAI, Anthropic) among their operations. */
function sameFamily(a: Provider, b: Provider): boolean {
  const dialects = (p: Provider) => [...new Set([...p.operations].map((op) => operationSpec(op).dialect))].sort().join(',');
  return dialects(a) === dialects(b);
}
