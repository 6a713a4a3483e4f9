import type { ProviderName } from '../../domain/model.js';
import { HttpProvider, joinUrl, withParam, validateHttpUrl, type UpstreamTarget } from '../http/http-provider.js';
import type { DeploymentSettings, SettingProblem, OpenAIOperation, Operation, UpstreamCall } from '../provider.js';

/** Used when neither the deployment nor the client names an api-version. */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

const PATHS: Record<Exclude<OpenAIOperation, 'responses'>, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/**
 * Azure OpenAI: `{endpoint}/openai/deployments/{upstream deployment}/{operation}?api-version=...`
 * with an `api-key` header. upstreamUrl is the resource endpoint, e.g. https://x.openai.azure.com.
 */
export class AzureOpenAIProvider extends HttpProvider {
  readonly name: ProviderName = 'azure-openai';
  readonly operations: ReadonlySet<Operation> = new Set(Object.keys(PATHS) as Operation[]);

  validate(settings: DeploymentSettings): SettingProblem | null {
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected target(call: UpstreamCall): UpstreamTarget {
    const d = call.deployment;
    const apiVersion = d.apiVersion ?? call.clientApiVersion ?? DEFAULT_AZURE_API_VERSION;
    const path = PATHS[call.operation as keyof typeof PATHS];
    const url = withParam(joinUrl(d.upstreamUrl ?? '', `/openai/deployments/${encodeURIComponent(d.upstreamModel)}${path}`), 'api-version', apiVersion);
    return { url, headers: d.upstreamApiKey === null ? {} : { 'api-key': d.upstreamApiKey } };
  }

  protected override upstreamBody(call: UpstreamCall): string {
    // Azure addresses the model by the deployment in the path; the body goes as the client sent it.
    return call.bodyText ?? JSON.stringify(call.body);
  }
}
