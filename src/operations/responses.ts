import { responsesTokens } from '../accounting/estimate.js';
import { responsesEventObserver } from '../accounting/stream-observers.js';
import { responsesText, responsesUsage } from '../accounting/usage.js';
import type { OperationSpec } from './operation.js';

/**
 * OpenAI's Responses API. Azure serves it on its v1 surface (`/openai/v1/responses`, the
 * deployment as `model`), which needs no api-version: its dated Responses api-versions are
 * previews, and a client's or deployment's version for chat need not support them.
 */
export const responses: OperationSpec = {
  name: 'responses',
  dialect: 'openai',
  metered: true,
  routes: { openai: '/responses', azure: '/responses' },
  upstreamPath: '/responses',
  azureUpstream: 'v1',
  required: {
    field: 'input',
    what: 'a string or an array of input items',
    accepts: (value) => value === undefined || typeof value === 'string' || Array.isArray(value),
  },
  estimatePrompt: responsesTokens,
  reservesCompletion: true,
  outputCapField: 'max_output_tokens',
  // The stream's final response.completed event always carries the usage.
  streamUsageOption: false,
  usage: responsesUsage,
  completionText: responsesText,
  stream: responsesEventObserver(responsesUsage),
};
