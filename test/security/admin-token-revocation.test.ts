import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway } from '../support/harness.js';

describe('TOLLGATE_ADMIN_TOKEN revoked', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-revoke-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stays revoked after a restart with the variable still set', async () => {
    const first = await startGateway({ dataDir });
    const created = await first.admin('POST', '/tokens', { name: 'ops', role: 'owner' });
    expect(created.status).toBe(201);
    const ops: string = created.body.token;
    const tokens = (await first.admin('GET', '/tokens', undefined, ops)).body.items as Array<{ id: string; name: string }>;
    const env = tokens.find((t) => t.name === 'env:TOLLGATE_ADMIN_TOKEN')!;
    expect((await first.admin('DELETE', `/tokens/${env.id}`, undefined, ops)).status).toBe(204);
    expect((await first.admin('GET', '/gateways')).status).toBe(401);
    await first.close();

    const second = await startGateway({ dataDir }); // TOLLGATE_ADMIN_TOKEN is still the revoked value
    try {
      expect((await second.admin('GET', '/gateways', undefined, ADMIN_TOKEN)).status).toBe(401);
      expect((await second.admin('GET', '/gateways', undefined, ops)).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('still bootstraps the first owner on an empty store', async () => {
    const gw = await startGateway();
    try {
      expect((await gw.admin('GET', '/gateways')).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
