import type { ProviderName } from '../domain/model.js';
import { AnthropicProvider } from './anthropic/index.js';
import { AzureOpenAIProvider } from './azure-openai/index.js';
import type { HttpProviderDeps } from './http/http-provider.js';
import { OpenAICompatibleProvider } from './openai-compatible/index.js';
import { OpenAIProvider } from './openai/index.js';
import type { Provider } from './provider.js';
import { createSimulatedProvider } from './simulated/index.js';

export type ProviderRegistry = ReadonlyMap<ProviderName, Provider>;

/** Every provider Tollgate knows, keyed by the name deployments use. */
export function createProviderRegistry(deps: HttpProviderDeps): ProviderRegistry {
  const providers: Provider[] = [
    new OpenAIProvider(deps),
    new OpenAICompatibleProvider(deps),
    new AzureOpenAIProvider(deps),
    new AnthropicProvider(deps),
    createSimulatedProvider(),
  ];
  return new Map(providers.map((p) => [p.name, p]));
}
