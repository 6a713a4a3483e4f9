import type { ProviderName } from '../../domain/model.js';
import { HttpProvider, joinUrl, validateHttpUrl, type UpstreamTarget } from '../http/http-provider.js';
import { operationSpec, operationsWhere } from '../../operations/registry.js';
import type { DeploymentSettings, Operation, SettingProblem, UpstreamCall } from '../provider.js';

/** Every OpenAI-dialect operation, at its spec's upstream path below the base URL. */
const OPERATIONS = operationsWhere((spec) => spec.dialect === 'openai');

/** Any OpenAI-style upstream (vLLM, Ollama, LM Studio, ...): base URL + optional bearer key. */
export class OpenAICompatibleProvider extends HttpProvider {
  readonly name: ProviderName = 'openai-compatible';
  readonly operations: ReadonlySet<Operation> = OPERATIONS;

  validate(settings: DeploymentSettings): SettingProblem | null {
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected baseUrl(call: UpstreamCall): string {
    return call.deployment.upstreamUrl ?? '';
  }

  protected target(call: UpstreamCall): UpstreamTarget {
    const key = call.deployment.upstreamApiKey;
    return {
      url: joinUrl(this.baseUrl(call), operationSpec(call.operation).upstreamPath),
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
    };
  }
}
