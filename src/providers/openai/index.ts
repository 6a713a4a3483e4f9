import type { ProviderName } from '../../domain/model.js';
import { validateHttpUrl } from '../http/http-provider.js';
import { OpenAICompatibleProvider } from '../openai-compatible/index.js';
import type { DeploymentSettings, SettingProblem, UpstreamCall } from '../provider.js';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** OpenAI itself: the OpenAI-compatible provider with its base URL by default and a key required. */
export class OpenAIProvider extends OpenAICompatibleProvider {
  override readonly name: ProviderName = 'openai';
  // OpenAI's own field: its reasoning models refuse `max_tokens`.
  protected override readonly chatCapField = 'max_completion_tokens';

  override validate(settings: DeploymentSettings): SettingProblem | null {
    if (!settings.hasUpstreamApiKey) return { field: 'upstreamApiKey', message: 'upstreamApiKey is required for provider openai' };
    return settings.upstreamUrl === null ? null : validateHttpUrl(settings.upstreamUrl);
  }

  protected override baseUrl(call: UpstreamCall): string {
    return call.deployment.upstreamUrl ?? OPENAI_BASE_URL;
  }
}
