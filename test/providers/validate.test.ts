import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeploymentSettings } from '../../src/providers/provider.js';
import { createProviderRegistry } from '../../src/providers/registry.js';

/** Providers report a refused setting as {field, message}: the field for a form, the message for a person. */

const dispatcher = new Agent();
afterAll(() => dispatcher.close());
const providers = createProviderRegistry({ dispatcher, timeoutMs: 1_000 });

const settings = (s: Partial<DeploymentSettings>): DeploymentSettings => ({
  upstreamUrl: null,
  upstreamModel: null,
  hasUpstreamApiKey: false,
  apiVersion: null,
  options: {},
  ...s,
});

const problem = (name: string, s: Partial<DeploymentSettings>) => providers.get(name as never)!.validate(settings(s));

describe('provider validation', () => {
  it('names the field at fault apart from the message, which names it too', () => {
    expect(problem('openai-compatible', {})).toEqual({ field: 'upstreamUrl', message: 'upstreamUrl is required for this provider' });
    expect(problem('azure-openai', { upstreamUrl: 'ftp://x.example' })).toEqual({ field: 'upstreamUrl', message: 'upstreamUrl must be an http(s) URL' });
    expect(problem('openai-compatible', { upstreamUrl: 'not a url' })).toEqual({
      field: 'upstreamUrl',
      message: 'upstreamUrl must be an absolute http(s) URL, e.g. https://api.openai.com/v1',
    });
    expect(problem('openai', {})).toEqual({ field: 'upstreamApiKey', message: 'upstreamApiKey is required for provider openai' });
    expect(problem('anthropic', {})).toEqual({ field: 'upstreamApiKey', message: 'upstreamApiKey is required for provider anthropic' });
    expect(problem('simulated', { options: { latencyMs: -1 } })).toEqual({ field: 'options.latencyMs', message: 'options.latencyMs must be an integer >= 0' });
  });

  it('accepts usable settings', () => {
    expect(problem('openai', { hasUpstreamApiKey: true })).toBeNull();
    expect(problem('anthropic', { hasUpstreamApiKey: true })).toBeNull();
    expect(problem('openai-compatible', { upstreamUrl: 'http://localhost:11434/v1' })).toBeNull();
    expect(problem('azure-openai', { upstreamUrl: 'https://x.openai.azure.com' })).toBeNull();
    expect(problem('simulated', {})).toBeNull();
  });
});
