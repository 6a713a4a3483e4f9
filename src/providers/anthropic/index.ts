import type { ProviderName } from '../../domain/model.js';
import { HttpProvider, joinUrl, validateHttpUrl, type UpstreamTarget } from '../http/http-provider.js';
import { operationSpec, operationsWhere } from '../../operations/registry.js';
import type { DeploymentSettings, Operation, SettingProblem, UpstreamCall } from '../provider.js';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** Sent when the client names no API version (every Anthropic SDK names one). */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * Anthropic's Messages API: `{base}/v1/messages` (and `/v1/messages/count_tokens`) with an
 * `x-api-key` header. The client's
 * `anthropic-version` and `anthropic-beta` headers go along, so its SDK's features work as they
 * do against Anthropic. upstreamUrl is the API's base, as the SDK's baseURL
 * (https://api.anthropic.com by default); a trailing /v1 is accepted too.
 */
export class AnthropicProvider extends HttpProvider {
  readonly name: ProviderName = 'anthropic';
  readonly operations: ReadonlySet<Operation> = operationsWhere((spec) => spec.dialect === 'anthropic');

  validate(settings: DeploymentSettings): SettingProblem | null {
    if (settings.upstreamUrl === null) return settings.hasUpstreamApiKey ? null : { field: 'upstreamApiKey', message: 'upstreamApiKey is required for provider anthropic' };
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected target(call: UpstreamCall): UpstreamTarget {
    const d = call.deployment;
    const base = (d.upstreamUrl ?? ANTHROPIC_BASE_URL).replace(/\/+$/, '');
    const headers: Record<string, string> = {
      'anthropic-version': headerOf(call, 'anthropic-version') ?? DEFAULT_ANTHROPIC_VERSION,
    };
    const beta = headerOf(call, 'anthropic-beta');
    if (beta !== null) headers['anthropic-beta'] = beta;
    if (d.upstreamApiKey !== null) headers['x-api-key'] = d.upstreamApiKey;
    const path = operationSpec(call.operation).upstreamPath;
    return { url: joinUrl(base, base.split('?')[0]!.replace(/\/+$/, '').endsWith('/v1') ? path : `/v1${path}`), headers };
  }
}

function headerOf(call: UpstreamCall, name: string): string | null {
  const value = call.clientHeaders[name];
  if (Array.isArray(value)) return value.join(',');
  return value ? value : null;
}
