import type { ProviderName } from '../../domain/model.js';
import { HttpProvider, joinUrl, validateHttpUrl, type UpstreamTarget } from '../http/http-provider.js';
import type { DeploymentSettings, SettingProblem, OpenAIOperation, Operation, UpstreamCall } from '../provider.js';

const PATHS: Record<OpenAIOperation, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

/** Any OpenAI-style upstream (vLLM, Ollama, LM Studio, ...): base URL + optional bearer key. */
export class OpenAICompatibleProvider extends HttpProvider {
  readonly name: ProviderName = 'openai-compatible';
  readonly operations: ReadonlySet<Operation> = new Set(Object.keys(PATHS) as Operation[]);

  validate(settings: DeploymentSettings): SettingProblem | null {
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected baseUrl(call: UpstreamCall): string {
    return call.deployment.upstreamUrl ?? '';
  }

  protected target(call: UpstreamCall): UpstreamTarget {
    const key = call.deployment.upstreamApiKey;
    return {
      url: joinUrl(this.baseUrl(call), PATHS[call.operation as keyof typeof PATHS]),
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
    };
  }
}
