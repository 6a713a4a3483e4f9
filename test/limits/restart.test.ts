import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { seedBasic, startGateway } from '../support/harness.js';

describe('limiter counters survive a restart of the embedded gateway', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-restart-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const messages = [{ role: 'user' as const, content: 'Remember me across restarts.' }];
  const perCall = countChatPromptTokens(messages) + 10;

  it('keeps the quota used before a graceful stop', async () => {
    const first = await startGateway({ dataDir });
    const seeded = await seedBasic(first, { completionTokens: 10 });
    const created = await first.admin('POST', '/gateways/gw1/limits', {
      project: 'p1',
      tokenQuota: 2 * perCall,
      quotaPeriod: 'monthly',
      tokensPerMinute: 100 * perCall,
    });
    expect(created.status).toBe(201);
    const client = (url: string) => new OpenAI({ baseURL: `${url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    await client(first.url).chat.completions.create({ model: 'sim-chat', messages, max_tokens: 10 });
    await first.close();

    const second = await startGateway({ dataDir });
    try {
      const res = await client(second.url).chat.completions.create({ model: 'sim-chat', messages, max_tokens: 10 }).withResponse();
      expect(res.response.headers.get('x-quota-remaining-tokens')).toBe('0');
      await expect(client(second.url).chat.completions.create({ model: 'sim-chat', messages, max_tokens: 10 })).rejects.toMatchObject({
        status: 403,
        code: 'token_quota_exceeded',
      });
    } finally {
      await second.close();
    }
  });
});
