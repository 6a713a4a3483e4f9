import { anthropicMessagesTokens } from '../accounting/estimate.js';
import { anthropicEventObserver } from '../accounting/stream-observers.js';
import { messageText, messageUsage } from '../accounting/usage.js';
import type { OperationSpec } from './operation.js';

/** Anthropic's Messages API. Its streams always report usage (message_start, message_delta). */
export const messages: OperationSpec = {
  name: 'messages',
  dialect: 'anthropic',
  metered: true,
  routes: { anthropic: '/messages' },
  upstreamPath: '/messages',
  azureUpstream: null,
  required: { field: 'messages', what: 'an array of messages', accepts: Array.isArray },
  estimatePrompt: anthropicMessagesTokens,
  reservesCompletion: true,
  outputCapField: 'max_tokens',
  streamUsageOption: false,
  usage: messageUsage,
  completionText: messageText,
  stream: anthropicEventObserver,
};
