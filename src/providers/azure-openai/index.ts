import type { ProviderName } from '../../domain/model.js';
import { operationSpec, operationsWhere } from '../../operations/registry.js';
import { HttpProvider, joinUrl, withParam, validateHttpUrl, type UpstreamTarget } from '../http/http-provider.js';
import type { DeploymentSettings, Operation, SettingProblem, UpstreamCall } from '../provider.js';

/** Used when neither the deployment nor the client names an api-version. */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/**
 * Azure OpenAI: `{endpoint}/openai/deployments/{upstream deployment}/{operation}?api-version=...`
 * with an `api-key` header; operations Azure serves only on its v1 surface (the Responses API)
 * go to `{endpoint}/openai/v1/{operation}` with the upstream deployment as `model`, no
 * api-version. upstreamUrl is the resource endpoint, e.g. https://x.openai.azure.com.
 */
export class AzureOpenAIProvider extends HttpProvider {
  readonly name: ProviderName = 'azure-openai';
  readonly operations: ReadonlySet<Operation> = operationsWhere((spec) => spec.azureUpstream !== null);

  validate(settings: DeploymentSettings): SettingProblem | null {
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected target(call: UpstreamCall): UpstreamTarget {
    const d = call.deployment;
    const spec = operationSpec(call.operation);
    const headers: Record<string, string> = d.upstreamApiKey === null ? {} : { 'api-key': d.upstreamApiKey };
    if (spec.azureUpstream === 'v1') return { url: joinUrl(d.upstreamUrl ?? '', `/openai/v1${spec.upstreamPath}`), headers };
    const apiVersion = d.apiVersion ?? call.clientApiVersion ?? DEFAULT_AZURE_API_VERSION;
    const url = withParam(joinUrl(d.upstreamUrl ?? '', `/openai/deployments/${encodeURIComponent(d.upstreamModel)}${spec.upstreamPath}`), 'api-version', apiVersion);
    return { url, headers };
  }

  protected override upstreamBody(call: UpstreamCall): string {
    // On the v1 surface the model is the body's `model`: the upstream deployment's name.
    if (operationSpec(call.operation).azureUpstream === 'v1') return super.upstreamBody(call);
    // Azure addresses the model by the deployment in the path; the body goes as the client sent it.
    return call.bodyText ?? JSON.stringify(call.body);
  }
}
