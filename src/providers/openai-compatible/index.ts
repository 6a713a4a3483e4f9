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

  /**
   * Where a completion bound set by the gateway goes in a chat request: servers of this kind know
   * `max_tokens` (OpenAI's newer `max_completion_tokens` is not understood by all of them).
   */
  protected readonly chatCapField: 'max_tokens' | 'max_completion_tokens' = 'max_tokens';

  validate(settings: DeploymentSettings): SettingProblem | null {
    return validateHttpUrl(settings.upstreamUrl);
  }

  protected override upstreamBody(call: UpstreamCall): string {
    const cap = call.outputCap;
    // The gateway's cap went into the spec's field; move it only where that field is OpenAI's newer one.
    if (cap == null || this.chatCapField === 'max_completion_tokens' || operationSpec(call.operation).outputCapField !== 'max_completion_tokens') {
      return super.upstreamBody(call);
    }
    const { max_completion_tokens: _moved, ...body } = call.body;
    return JSON.stringify({ ...body, model: call.deployment.upstreamModel, [this.chatCapField]: cap });
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
