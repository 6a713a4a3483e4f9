/** The BPE encodings Tollgate counts with (the OpenAI families; others are approximated by o200k). */
export type Encoding = 'o200k_base' | 'cl100k_base';

/** gpt-4, gpt-3.5 and the first embedding models use cl100k_base; everything newer uses o200k_base. */
const CL100K_MODELS = /^(gpt-4(?![o.])|gpt-35|gpt-3\.5|text-embedding-3|text-embedding-ada)/;

/**
 * The encoding for an upstream model name. Unknown models (other vendors, self-hosted) fall back to
 * o200k_base, the encoding of current OpenAI models: close for most modern BPE tokenizers.
 */
export function encodingFor(model: string): Encoding {
  return CL100K_MODELS.test(model) ? 'cl100k_base' : 'o200k_base';
}
