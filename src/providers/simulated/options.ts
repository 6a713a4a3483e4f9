import { z } from 'zod';

/** What each option accepts, in the words used by validation messages. */
const RULES = {
  latencyMs: 'an integer >= 0',
  chunkDelayMs: 'an integer >= 0',
  completionTokens: 'an integer from 1 to 100000',
  embeddingDimensions: 'an integer from 1 to 4096',
  failWithStatus: 'an integer from 400 to 599',
} as const;

type OptionKey = keyof typeof RULES;

const schema = z.strictObject({
  latencyMs: z.number().int().min(0).default(0),
  chunkDelayMs: z.number().int().min(0).default(0),
  completionTokens: z.number().int().min(1).max(100_000).default(16),
  embeddingDimensions: z.number().int().min(1).max(4096).default(8),
  failWithStatus: z.number().int().min(400).max(599).optional(),
});

export type SimulatedOptions = z.output<typeof schema>;

export type OptionsResult = { ok: true; options: SimulatedOptions } | { ok: false; field: string; message: string };

export function parseOptions(raw: unknown): OptionsResult {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, options: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = `options.${issue.keys[0] ?? '?'}`;
    return {
      ok: false,
      field,
      message: `${field} is not a simulated option (allowed: ${Object.keys(RULES).join(', ')})`,
    };
  }
  const key = issue?.path[0];
  if (typeof key === 'string' && key in RULES) {
    return { ok: false, field: `options.${key}`, message: `options.${key} must be ${RULES[key as OptionKey]}` };
  }
  return { ok: false, field: 'options', message: 'options must be an object' };
}
