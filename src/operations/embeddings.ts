import { textOrTokenArrays } from '../accounting/estimate.js';
import { choicesChunkObserver } from '../accounting/stream-observers.js';
import { noText, openaiUsage } from '../accounting/usage.js';
import { isTextOrArray } from './completions.js';
import type { OperationSpec } from './operation.js';

/** OpenAI's Embeddings API: prompt tokens only, no completion. */
export const embeddings: OperationSpec = {
  name: 'embeddings',
  dialect: 'openai',
  metered: true,
  routes: { openai: '/embeddings', azure: '/embeddings' },
  upstreamPath: '/embeddings',
  azureUpstream: 'deployment',
  required: { field: 'input', what: 'a string or an array', accepts: isTextOrArray },
  estimatePrompt: (body, counting) => textOrTokenArrays(body.input, counting),
  reservesCompletion: false,
  outputCapField: null,
  streamUsageOption: false,
  usage: openaiUsage,
  completionText: noText,
  stream: choicesChunkObserver(openaiUsage),
};
