import { seededRandom } from './seed.js';

/** The first generated token, without a leading space (one o200k_base token). */
export const FIRST_TOKEN = 'Hello';

/**
 * Invariant: each entry is exactly one o200k_base token, and o200k_base's pre-tokenizer splits
 * text at " word" boundaries, so a text of N such tokens counts as exactly N tokens (tested).
 */
export const VOCABULARY: readonly string[] = [
  'the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'with', 'as', 'was', 'on', 'be',
  'at', 'by', 'this', 'from', 'or', 'an', 'are', 'not', 'but', 'have', 'we', 'you', 'they',
  'can', 'all', 'one', 'has', 'more', 'will', 'their', 'which', 'time', 'about', 'there', 'when',
  'some', 'new', 'people', 'other', 'into', 'only', 'also', 'after', 'first', 'like', 'just',
  'over', 'many', 'most', 'such', 'make', 'way', 'what', 'then', 'than', 'each', 'very', 'good',
  'well', 'long', 'world', 'water', 'day', 'light', 'small', 'great', 'place', 'year', 'work',
  'life', 'home', 'part', 'city', 'state', 'name', 'line', 'book',
].map((word) => ` ${word}`);

/** What the model will generate for one request. */
export interface Generation {
  /** Tokens generated (the text's exact o200k_base token count). */
  readonly count: number;
  /** True when the request's cap stopped generation before the model's natural length. */
  readonly truncated: boolean;
  /** The tokens in order, produced lazily so long streams cost no upfront memory. */
  tokens(): Generator<string, void, undefined>;
  text(): string;
}

/**
 * Plans a generation: `naturalLength` tokens (the deployment's completionTokens), cut to `cap`
 * when the request asks for fewer. Words depend only on `promptKey`, so a capped answer is a
 * prefix of the uncapped one.
 */
export function planGeneration(promptKey: string, naturalLength: number, cap: number | null): Generation {
  const count = cap !== null && cap < naturalLength ? cap : naturalLength;
  function* tokens(): Generator<string, void, undefined> {
    if (count <= 0) return;
    yield FIRST_TOKEN;
    const random = seededRandom(promptKey);
    for (let i = 1; i < count; i++) {
      yield VOCABULARY[Math.floor(random() * VOCABULARY.length)] ?? ' the';
    }
  }
  return {
    count,
    truncated: count < naturalLength,
    tokens,
    text: () => Array.from(tokens()).join(''),
  };
}
