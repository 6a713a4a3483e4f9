import { anthropicMessagesTokens } from '../accounting/estimate.js';
import { anthropicEventObserver } from '../accounting/stream-observers.js';
import { messageUsage, noText } from '../accounting/usage.js';
import type { OperationSpec } from './operation.js';

/** Anthropic's token counting: free and unlimited, so never metered nor reserved. */
export const countTokens: OperationSpec = {
  name: 'messages.count_tokens',
  dialect: 'anthropic',
  metered: false,
  routes: { anthropic: '/messages/count_tokens' },
  upstreamPath: '/messages/count_tokens',
  azureUpstream: null,
  required: { field: 'messages', what: 'an array of messages', accepts: Array.isArray },
  estimatePrompt: anthropicMessagesTokens,
  reservesCompletion: false,
  outputCapField: null,
  streamUsageOption: false,
  // Not metered: its answer's usage and text are never read; its dialect's readers, for coherence.
  usage: messageUsage,
  completionText: noText,
  stream: anthropicEventObserver,
};
