import { chatTokens } from '../accounting/estimate.js';
import { choicesChunkObserver, plainContentDelta } from '../accounting/stream-observers.js';
import { choicesText, openaiUsage } from '../accounting/usage.js';
import type { OperationSpec } from './operation.js';

/** OpenAI's Chat Completions API. */
export const chatCompletions: OperationSpec = {
  name: 'chat.completions',
  dialect: 'openai',
  metered: true,
  routes: { openai: '/chat/completions', azure: '/chat/completions' },
  upstreamPath: '/chat/completions',
  azureUpstream: 'deployment',
  required: { field: 'messages', what: 'an array of messages', accepts: Array.isArray },
  estimatePrompt: chatTokens,
  reservesCompletion: true,
  outputCapField: 'max_completion_tokens',
  streamUsageOption: true,
  usage: openaiUsage,
  completionText: choicesText,
  stream: choicesChunkObserver(openaiUsage, plainContentDelta),
};
