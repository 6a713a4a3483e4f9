import { countTextTokens } from '../../accounting/count.js';
import type { UpstreamCall, UpstreamResponse } from '../provider.js';
import type { SimulatedOptions } from './options.js';
import { jsonReply } from './reply.js';
import { InvalidRequest } from './request.js';
import { seededRandom } from './seed.js';

const MAX_DIMENSIONS = 4096;
const INPUT_RULE = "'input' must be a string, an array of strings, or an array of token ids";

/** One embedding input: text, or a list of token ids (counted by its length). */
type EmbeddingInput = string | readonly number[];

const isTokenIds = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((id) => typeof id === 'number');

function readInputs(input: unknown): EmbeddingInput[] {
  if (typeof input === 'string') return [input];
  if (isTokenIds(input)) return [input];
  if (!Array.isArray(input) || input.length === 0) throw new InvalidRequest(INPUT_RULE, 'input');
  return input.map((item: unknown) => {
    if (typeof item === 'string' || isTokenIds(item)) return item;
    throw new InvalidRequest(INPUT_RULE, 'input');
  });
}

function readDimensions(body: Record<string, unknown>, fallback: number): number {
  const value = body.dimensions;
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_DIMENSIONS) {
    throw new InvalidRequest(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}`, 'dimensions');
  }
  return value;
}

function readEncoding(body: Record<string, unknown>): 'float' | 'base64' {
  const value = body.encoding_format;
  if (value === undefined || value === null || value === 'float') return 'float';
  if (value === 'base64') return 'base64';
  throw new InvalidRequest("'encoding_format' must be 'float' or 'base64'", 'encoding_format');
}

/**
 * A deterministic unit vector for `input`, rounded to float32 so that the float and base64
 * encodings carry exactly the same values.
 */
function embed(input: EmbeddingInput, dimensions: number): number[] {
  const random = seededRandom(JSON.stringify(input));
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Math.fround(value / norm));
}

/** OpenAI's base64 encoding: the little-endian float32 bytes of the vector. */
function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

export function createEmbeddings(call: UpstreamCall, options: SimulatedOptions): UpstreamResponse {
  const inputs = readInputs(call.body.input);
  const dimensions = readDimensions(call.body, options.embeddingDimensions);
  const encoding = readEncoding(call.body);
  let promptTokens = 0;
  const data = inputs.map((input, index) => {
    promptTokens += typeof input === 'string' ? countTextTokens(input) : input.length;
    const vector = embed(input, dimensions);
    return { object: 'embedding', index, embedding: encoding === 'base64' ? toBase64(vector) : vector };
  });
  return jsonReply(200, {
    object: 'list',
    data,
    model: call.deployment.upstreamModel,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}
