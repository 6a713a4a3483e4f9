import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../../support/harness.js';

/** The recordings copied from ../shared/fixtures/provider-recordings (see their README). */
export const RECORDINGS_DIR = new URL('../../fixtures/provider-recordings/', import.meta.url);

export type RecordedEndpoint = 'chat.completions' | 'completions' | 'embeddings' | 'responses' | 'messages';

/** One entry of catalog.json: what was recorded and the usage the recording states. */
export interface Recording {
  id: string;
  endpoint: RecordedEndpoint;
  stream: boolean;
  status: number;
  contentType: string;
  file: string;
  bytes: number;
  note?: string;
  source: { repo: string; path: string; commit: string; how: string };
  /** Empty when the recording states no usage (or is an error; catalog.json says null). */
  expect: { prompt?: number; completion?: number; total?: number; raw?: unknown };
}

export function loadCatalog(): Recording[] {
  const entries = JSON.parse(readFileSync(new URL('catalog.json', RECORDINGS_DIR), 'utf8')) as Array<Omit<Recording, 'expect'> & { expect: Recording['expect'] | null }>;
  return entries.map((e) => ({ ...e, expect: e.expect ?? {} }));
}

export function recordedBody(recording: Recording): Buffer {
  return readFileSync(new URL(recording.file, RECORDINGS_DIR));
}

/** A replay writes a stream in pieces of these sizes, so events and UTF-8 characters cross chunk boundaries. */
export const PIECES = [1, 7, 64, 3, 200, 13, 2, 500, 31];

export interface ReplayUpstream {
  url: string;
  /** The path and headers of every request received, in order, with the recording it was for. */
  requests: Array<{ id: string; path: string; headers: Record<string, string | string[] | undefined>; body: any }>;
  close(): Promise<void>;
}

/**
 * One local upstream for every recording: a deployment's upstream URL is `{url}/rec/{id}`, and
 * whatever path the provider appends to it is answered with that recording's status, content
 * type and bytes (an event stream written piece by piece, a tick apart).
 */
export async function startReplayUpstream(recordings: Recording[]): Promise<ReplayUpstream> {
  const byId = new Map(recordings.map((r) => [r.id, { recording: r, body: recordedBody(r) }]));
  const requests: ReplayUpstream['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/rec\/([^/]+)(\/[^?]*)/.exec(req.url ?? '');
      const entry = match ? byId.get(match[1]!) : undefined;
      if (!match || !entry) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such recording"}}');
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({ id: entry.recording.id, path: match[2]! + (req.url!.includes('?') ? req.url!.slice(req.url!.indexOf('?')) : ''), headers: req.headers, body: text ? JSON.parse(text) : null });
      res.writeHead(entry.recording.status, { 'content-type': entry.recording.contentType });
      if (!entry.recording.stream) {
        res.end(entry.body);
        return;
      }
      void writeInPieces(res, entry.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function writeInPieces(res: import('node:http').ServerResponse, body: Buffer): Promise<void> {
  for (let at = 0, i = 0; at < body.length; i++) {
    const size = PIECES[i % PIECES.length]!;
    res.write(body.subarray(at, at + size));
    at += size;
    // A tick between pieces, so they leave as separate writes rather than one coalesced buffer.
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

/** Splits an event stream into its events, each with its trailing blank line. */
export function sseEvents(body: Buffer): string[] {
  const text = body.toString('utf8');
  const events: string[] = [];
  const separator = /\r?\n\r?\n/g;
  let start = 0;
  for (let m = separator.exec(text); m; m = separator.exec(text)) {
    events.push(text.slice(start, m.index + m[0].length));
    start = m.index + m[0].length;
  }
  if (start < text.length) events.push(text.slice(start));
  return events;
}

/**
 * The recording as a client that did not ask for usage must receive it: without the final
 * `choices: []` usage chunk, which the gateway asked for on the client's behalf.
 */
export function withoutUsageChunk(body: Buffer): Buffer {
  const kept = sseEvents(body).filter((event) => {
    const data = /^data:(.*)$/m.exec(event)?.[1]?.trim();
    if (!data || data === '[DONE]') return true;
    try {
      const json = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      return !(Array.isArray(json.choices) && json.choices.length === 0 && json.usage !== null && typeof json.usage === 'object');
    } catch {
      return true;
    }
  });
  return Buffer.from(kept.join(''), 'utf8');
}

/** The usage the ledger must record, by its rule: prompt + completion = total, tokens only in the total count as completion. */
export function ledgerUsage(stated: Recording['expect']): { prompt: number; completion: number; total: number } {
  const prompt = stated.prompt ?? 0;
  const completion = stated.completion ?? 0;
  const total = Math.max(stated.total ?? 0, prompt + completion);
  return { prompt, completion: total - prompt, total };
}

export type RecordedProvider = 'openai-compatible' | 'azure-openai' | 'anthropic';

/** The deployment's provider a recording is replayed behind: az-* Azure OpenAI, ant-* Anthropic, the rest OpenAI-compatible. */
export const providerOf = (r: Recording): RecordedProvider =>
  r.id.startsWith('az-') ? 'azure-openai' : r.id.startsWith('ant-') ? 'anthropic' : 'openai-compatible';

export interface ReplayGateway {
  gw: TestGateway;
  upstream: ReplayUpstream;
  /** Key of project p1 (no limit). */
  key: string;
  close(): Promise<void>;
}

/** A gateway with one deployment per recording (named as the recording) on its replay upstream. */
export async function startReplayGateway(recordings: Recording[]): Promise<ReplayGateway> {
  const upstream = await startReplayUpstream(recordings);
  const gw = await startGateway({ ledgerFlushMs: 20 });
  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
  for (const r of recordings) {
    const provider = providerOf(r);
    const base = `${upstream.url}/rec/${r.id}`;
    ok(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: r.id,
        provider,
        upstreamUrl: provider === 'openai-compatible' ? `${base}/v1` : base,
        upstreamModel: r.id,
        upstreamApiKey: 'upstream-secret',
      }),
      `deployment ${r.id}`,
    );
  }
  ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
  const key: string = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p1' }), 'project').keys.primary;
  return {
    gw,
    upstream,
    key,
    async close() {
      await gw.close();
      await upstream.close();
    },
  };
}
