import { readFileSync } from 'node:fs';
import type { FuzzInput } from './inputs.js';

interface CorpusEntry extends FuzzInput {
  /** Where the body says NEST, this many levels of nested arrays and objects (kept out of the file). */
  nest?: number;
}

/** The committed corpus: inputs that once broke the gateway, or were found by `npm run fuzz`. */
export function loadCorpus(): FuzzInput[] {
  const entries = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8')) as CorpusEntry[];
  return entries.map(({ nest, ...input }) =>
    nest === undefined || input.body === undefined ? input : { ...input, body: input.body.replace('NEST', `${'[{"a":'.repeat(nest / 2)}1${'}]'.repeat(nest / 2)}`) },
  );
}
