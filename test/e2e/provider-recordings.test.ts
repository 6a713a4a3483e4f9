import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/accounting/count.js';
import type { TestGateway } from '../support/harness.js';
import { ledgerUsage, loadCatalog, providerOf, recordedBody, sseEvents, startReplayGateway, withoutUsageChunk, type Recording, type ReplayUpstream } from './support/recordings.js';

/**
 * Every real provider recording (test/fixtures/provider-recordings, from ../shared), replayed by a
 * local upstream behind a Tollgate deployment of its provider and called through Tollgate: the
 * client gets the recorded bytes, and the ledger records the usage the recording states.
 */
const CATALOG = loadCatalog();

const OPENAI_PATHS: Record<Exclude<Recording['endpoint'], 'messages'>, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

const PROMPT = 'Replay the recording, please.';

/** The text a chat or completions stream generated, as its events hold it. */
function streamedText(r: Recording): string {
  return sseEvents(recordedBody(r))
    .map((event) => /^data:(.*)$/m.exec(event)?.[1]?.trim())
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data) as { choices?: Array<{ text?: string; delta?: { content?: string | null } }> })
    .map((chunk) => chunk.choices?.[0]?.delta?.content ?? chunk.choices?.[0]?.text ?? '')
    .join('');
}

function requestBody(r: Recording, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const stream = r.stream ? { stream: true } : {};
  switch (r.endpoint) {
    case 'chat.completions':
      return { model: r.id, messages: [{ role: 'user', content: PROMPT }], ...stream, ...extra };
    case 'completions':
      return { model: r.id, prompt: PROMPT, ...stream, ...extra };
    case 'embeddings':
      return { model: r.id, input: PROMPT };
    case 'responses':
      return { model: r.id, input: PROMPT, ...stream };
    case 'messages':
      return { model: r.id, max_tokens: 1024, messages: [{ role: 'user', content: PROMPT }], ...stream };
  }
}

describe('provider recordings replayed through Tollgate', () => {
  let upstream: ReplayUpstream;
  let gw: TestGateway;
  let key = '';
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const replay = await startReplayGateway(CATALOG);
    ({ gw, upstream, key } = replay);
    close = () => replay.close();
  });
  afterAll(() => close?.());

  /** Calls Tollgate the way the recording's client would, and answers status, headers and the exact bytes. */
  async function call(r: Recording, requestId: string, path: string, body: Record<string, unknown>) {
    const anthropic = r.endpoint === 'messages';
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': requestId,
        ...(anthropic ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { 'api-key': key }),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  async function ledgerRow(requestId: string) {
    await gw.tollgate.ledger!.flush();
    const logs = await gw.admin('GET', '/gateways/gw1/logs?limit=500');
    expect(logs.status).toBe(200);
    return (logs.body.items as any[]).find((e) => e.requestId === requestId);
  }

  /** The ledger records the stated usage; where none is stated, something plausible was counted. */
  async function expectUsage(r: Recording, requestId: string) {
    const row = await ledgerRow(requestId);
    expect(row, `ledger row of ${requestId}`).toBeDefined();
    expect(row.tokens.prompt + row.tokens.completion).toBe(row.tokens.total);
    expect({ outcome: row.outcome, status: row.status, stream: row.stream, deployment: row.deployment }).toEqual({
      outcome: r.status >= 400 ? 'upstream_error' : 'ok',
      status: r.status,
      stream: r.stream,
      deployment: r.id,
    });
    if (r.status >= 400) {
      expect(row.tokens.total).toBe(0); // a failed call is charged nothing
    } else if (r.expect.total === undefined) {
      // No usage in the recording: the prompt is estimated and the streamed text counted.
      expect(row.tokens.prompt).toBeGreaterThan(0);
      expect(row.tokens.completion).toBeGreaterThan(0);
      expect(row.tokens.completion).toBe(countTextTokens(streamedText(r)));
    } else {
      expect(row.tokens).toEqual(ledgerUsage(r.expect));
    }
    return row;
  }

  function pathOf(r: Recording): string {
    if (r.endpoint === 'messages') return '/anthropic/v1/messages';
    const op = OPENAI_PATHS[r.endpoint];
    // Azure clients address the deployment in the path; the Responses API has no such route today.
    if (providerOf(r) === 'azure-openai' && r.endpoint !== 'responses') return `/openai/deployments/${r.id}${op}?api-version=2024-10-21`;
    return `/openai/v1${op}`;
  }

  const replays = CATALOG.map((r) => {
    const label = `${r.id}: ${r.stream ? 'SSE' : 'JSON'} ${r.endpoint} ${r.status}, usage ${r.expect.total === undefined ? 'none stated' : `${r.expect.prompt}+${r.expect.completion}=${r.expect.total}`}`;
    return { r, label };
  });

  for (const { r, label } of replays) {
    it(`${label}: the client gets the recorded bytes, the ledger the recorded usage`, async () => {
      const requestId = `replay-${r.id}`;
      const res = await call(r, requestId, pathOf(r), requestBody(r));
      expect(res.status).toBe(r.status);
      expect(res.headers.get('content-type')).toBe(r.contentType);
      const recorded = recordedBody(r);
      // Chat and completions streams: Tollgate asked for usage on the client's behalf and strips that chunk.
      const expected = r.stream && (r.endpoint === 'chat.completions' || r.endpoint === 'completions') ? withoutUsageChunk(recorded) : recorded;
      expect(res.bytes.toString('utf8')).toBe(expected.toString('utf8'));
      expect(res.bytes.equals(expected)).toBe(true);
      await expectUsage(r, requestId);
      const sent = upstream.requests.filter((q) => q.id === r.id).at(-1);
      if (r.stream && (r.endpoint === 'chat.completions' || r.endpoint === 'completions')) {
        expect(sent?.body.stream_options).toEqual({ include_usage: true });
      }
    });

    if (r.stream && (r.endpoint === 'chat.completions' || r.endpoint === 'completions')) {
      it(`${label}: a client that asks for usage itself gets the recording byte for byte`, async () => {
        const requestId = `replay-${r.id}-with-usage`;
        const res = await call(r, requestId, pathOf(r), requestBody(r, { stream_options: { include_usage: true } }));
        expect(res.status).toBe(r.status);
        expect(res.bytes.equals(recordedBody(r))).toBe(true);
        await expectUsage(r, requestId);
      });
    }
  }

  it('replays every recording of the catalog, and each was called on its provider’s path', () => {
    expect(CATALOG).toHaveLength(39);
    const paths = new Map(upstream.requests.map((q) => [q.id, q.path]));
    expect(paths.get('oai-chat-basic')).toBe('/v1/chat/completions');
    expect(paths.get('az-chat-basic')).toBe('/openai/deployments/az-chat-basic/chat/completions?api-version=2024-10-21');
    expect(paths.get('ant-text')).toBe('/v1/messages');
    expect(paths.get('oai-resp-cached')).toBe('/v1/responses');
  });
});
