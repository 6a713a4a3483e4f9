import { textOrTokenArrays } from '../accounting/estimate.js';
import { choicesChunkObserver } from '../accounting/stream-observers.js';
import { choicesText, openaiUsage } from '../accounting/usage.js';
import type { OperationSpec } from './operation.js';

/** OpenAI's legacy Completions API: a prompt as text or token ids. */
export const completions: OperationSpec = {
  name: 'completions',
  dialect: 'openai',
  metered: true,
  routes: { openai: '/completions', azure: '/completions' },
  upstreamPath: '/completions',
  azureUpstream: 'deployment',
  required: { field: 'prompt', what: 'a string or an array of strings', accepts: isTextOrArray },
  estimatePrompt: (body, counting) => textOrTokenArrays(body.prompt, counting),
  reservesCompletion: true,
  outputCapField: 'max_tokens',
  streamUsageOption: true,
  usage: openaiUsage,
  completionText: choicesText,
  stream: choicesChunkObserver(openaiUsage),
};

export function isTextOrArray(value: unknown): boolean {
  return typeof value === 'string' || Array.isArray(value);
}
