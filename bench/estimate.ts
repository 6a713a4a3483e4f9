/**
 * The prompt estimate's speed and accuracy (docs/limits.md, "How prompts are counted"):
 *   npx tsx bench/estimate.ts             # ~1 min: speed per text shape, accuracy on the corpus, recordings
 *   npx tsx bench/estimate.ts --before    # also gpt-tokenizer's own count of the pathological shapes (Tollgate's count before)
 *   npx tsx bench/estimate.ts --quick     # 1 MB shapes only, one run each
 * RECORDINGS=<dir> points at the provider recordings (default ../shared/fixtures/provider-recordings).
 * Times are the best of several runs, in ms, on an otherwise idle core; "units" are the counting
 * budget's work units (see src/accounting/count-budget.ts), which should stay near 1 ns each.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { CountBudget, countTextTokens, encodingFor, type Encoding } from '../src/accounting/count.js';
import { REQUEST_COUNT_BUDGET } from '../src/accounting/count-budget.js';
import { estimatePromptTokens } from '../src/operations/registry.js';
import { SseUsageTap } from '../src/accounting/sse-usage-tap.js';
import type { Operation } from '../src/providers/provider.js';
import { corpus, PATHOLOGICAL, sized, type Category, type CorpusText } from './lib/token-corpus.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const root = resolve(import.meta.dirname, '..');
const recordings = resolve(process.env.RECORDINGS ?? join(root, '../shared/fixtures/provider-recordings'));
const KB = 1024;
const MB = 1024 * KB;

/** gpt-tokenizer's encoder: the reference count (exact BPE, special tokens counted as text). */
const reference: Record<Encoding, GptEncoding> = {
  o200k_base: GptEncoding.getEncodingApi('o200k_base', () => o200kRanks),
  cl100k_base: GptEncoding.getEncodingApi('cl100k_base', () => cl100kRanks),
};
const AS_TEXT = { disallowedSpecial: new Set<string>() };
const realTokens = (text: string, encoding: Encoding) => reference[encoding].countTokens(text, AS_TEXT);

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    min = Math.min(min, performance.now() - start);
  }
  return min;
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
function table(head: string[], rows: (string | number)[][]): void {
  console.log(`| ${head.join(' | ')} |\n| ${head.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log();
}

/** One text as the whole prompt of a request: the production path, with the request's budget. */
function asRequest(text: string, encoding: Encoding = 'o200k_base'): { tokens: number; budget: CountBudget } {
  const budget = new CountBudget();
  return { tokens: countTextTokens(text, encoding, budget), budget };
}

function speed(): void {
  console.log(`## Speed (budget ${REQUEST_COUNT_BUDGET / 1e6} M units per request)\n`);
  const ordinary = corpus(root);
  const byCategory = (c: Category) => ordinary.filter((t) => t.category === c).map((t) => t.text).join('\n');
  const shapes: [string, (n: number) => string][] = [
    ['English prose (docs)', (n) => sized(byCategory('prose'), n)],
    ['TypeScript (src)', (n) => sized(byCategory('code'), n)],
    ['JSON (tool schemas)', (n) => sized(byCategory('json'), n)],
    ['Chinese, Japanese, Russian…', (n) => sized(byCategory('non-Latin'), n)],
    ...Object.entries(PATHOLOGICAL),
  ];
  const rows: (string | number)[][] = [];
  for (const [name, make] of shapes) {
    const runs = quick ? 2 : 5;
    const row: (string | number)[] = [name];
    for (const size of quick ? [MB] : [64 * KB, MB]) {
      const text = make(size);
      let result = asRequest(text);
      const time = best(runs, () => (result = asRequest(text)));
      row.push(`${ms(time)} ms, ${(result.budget.used / 1e6).toFixed(2)} M${result.budget.bounded ? ', bounded' : ''}`);
    }
    // The tokenizer alone with no budget: linear, and what a unit costs on this machine. Each
    // run counts another text (one more character in front), or the cache would answer.
    const text = make(MB);
    let units = 0;
    let run = 0;
    const time = best(runs, () => {
      const unlimited = new CountBudget(Infinity);
      countTextTokens(`${run++}${text}`, 'o200k_base', unlimited);
      units = unlimited.used;
    });
    row.push(`${ms(time)} ms`, (time * 1e6 / units).toFixed(2), `${Math.round(REQUEST_COUNT_BUDGET / (units / MB) / KB)} KB`);
    rows.push(row);
  }
  table(['text', ...(quick ? [] : ['64 KB: time, units']), '1 MB: time, units', '1 MB, no budget', 'ns per unit', 'counted exactly within the budget'], rows);
}

/** gpt-tokenizer's count of pathological shapes, as Tollgate counted before: quadratic. */
function before(): void {
  console.log('## Before: gpt-tokenizer alone (one piece per run, BPE quadratic in it)\n');
  const rows: (string | number)[][] = [];
  for (const name of ['one letter', 'one CJK character', 'random letters, no spaces', 'random base64', 'spaces']) {
    const row: (string | number)[] = [name];
    for (const size of [8 * KB, 16 * KB, 32 * KB, 64 * KB]) {
      const text = PATHOLOGICAL[name]!(size);
      row.push(`${ms(best(1, () => realTokens(text, 'o200k_base')))} ms`);
    }
    rows.push(row);
  }
  table(['text', '8 KB', '16 KB', '32 KB', '64 KB'], rows);
}

function accuracy(): void {
  console.log('## Accuracy against exact BPE (gpt-tokenizer)\n');
  const texts = corpus(root, existsSync(recordings) ? recordings : undefined);
  const rows: (string | number)[][] = [];
  for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
    for (const category of ['prose', 'code', 'json', 'non-Latin'] as const) {
      const group = texts.filter((t) => t.category === category);
      const real = group.map((t) => realTokens(t.text, encoding));
      const ours = group.map((t) => asRequest(t.text, encoding).tokens);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const worst = group.reduce((w, _, i) => (Math.abs(ours[i]! / real[i]! - 1) > Math.abs(w.ratio - 1) ? { ratio: ours[i]! / real[i]!, t: group[i]! } : w), { ratio: 1, t: null as CorpusText | null });
      // The whole category as one 1 MB prompt: over the budget, so part of it is bounded.
      const large = sized(group.map((t) => t.text).join('\n'), MB);
      const largeRequest = asRequest(large, encoding);
      const largeReal = realTokens(large, encoding);
      rows.push([
        encoding,
        category,
        group.length,
        sum(real),
        `${sum(ours)} (${pct(sum(ours) / sum(real) - 1)})`,
        worst.t ? `${pct(worst.ratio - 1)} (${worst.t.name})` : '0',
        `${largeReal} → ${largeRequest.tokens} (${pct(largeRequest.tokens / largeReal - 1)}${largeRequest.budget.bounded ? ', bounded' : ''})`,
      ]);
    }
  }
  table(['encoding', 'texts', 'n', 'real tokens', 'Tollgate, each text a request', 'largest difference in one text', '1 MB of it as one request: real → Tollgate'], rows);
}

interface Recording {
  id: string;
  endpoint: Operation;
  stream: boolean;
  file: string;
  expect: { completion?: number; raw?: Record<string, unknown> } | null;
}

/** Streamed completions counted from their text (what Tollgate charges when no usage comes) against the usage reported. */
function recorded(): void {
  if (!existsSync(join(recordings, 'catalog.json'))) {
    console.log(`(no recordings at ${recordings}: set RECORDINGS)\n`);
    return;
  }
  console.log('## Streamed text counted against the usage the provider reported\n');
  const catalog = JSON.parse(readFileSync(join(recordings, 'catalog.json'), 'utf8')) as Recording[];
  const rows: (string | number)[][] = [];
  for (const r of catalog) {
    if (!r.stream || r.expect?.completion === undefined) continue;
    const body = readFileSync(join(recordings, r.file));
    const tap = new SseUsageTap(r.endpoint, false);
    tap.push(body);
    tap.flush();
    const model = /"model":"([^"]+)"/.exec(body.toString('utf8'))?.[1] ?? '';
    const encoding = encodingFor(model);
    const counted = countTextTokens(tap.generatedText(), encoding);
    const raw = r.expect.raw ?? {};
    const details = (raw.completion_tokens_details ?? raw.output_tokens_details) as { reasoning_tokens?: number } | undefined;
    // Reasoning the stream does not show, when the completion includes it (xAI reports it apart).
    const reasoning = details?.reasoning_tokens ?? 0;
    const hidden = reasoning <= r.expect.completion ? reasoning : 0;
    rows.push([r.id, model, encoding, r.expect.completion, hidden || '', counted, r.expect.completion > hidden ? pct(counted / (r.expect.completion - hidden) - 1) : '(all reasoning)']);
  }
  table(['recording', 'model', 'encoding', 'completion reported', 'of it reasoning (not streamed)', 'text counted', 'counted vs reported less reasoning'], rows);
  console.log('Anthropic, xAI, DeepSeek and Groq models do not use these encodings: their rows show how far o200k_base is from their tokenizers, not the counter\'s error.\n');
}

/** One 1 MB prompt through each field the estimate reads: all bounded by the request's budget. */
function requestPaths(): void {
  console.log('## A 1 MB prompt of one letter through each request field\n');
  const big = 'a'.repeat(MB);
  const bodies: [string, Operation, Record<string, unknown>][] = [
    ['chat: message content', 'chat.completions', { messages: [{ role: 'user', content: big }] }],
    ['chat: tools', 'chat.completions', { messages: [], tools: [{ type: 'function', function: { name: 'f', description: big } }] }],
    ['responses: instructions', 'responses', { instructions: big, input: 'hi' }],
    ['messages: system', 'messages', { system: big, messages: [] }],
    ['embeddings: input array', 'embeddings', { input: [big, big] }],
    ['completions: prompt', 'completions', { prompt: big }],
  ];
  const rows = bodies.map(([name, operation, body]) => {
    let tokens = 0;
    const time = best(3, () => (tokens = estimatePromptTokens(operation, body, 'o200k_base')));
    return [name, `${ms(time)} ms`, tokens];
  });
  table(['field', 'time', 'estimate'], rows);
}

speed();
if (args.has('--before')) before();
if (!quick) {
  requestPaths();
  accuracy();
  recorded();
}
