import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SLOW } from '../support/cli.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** `tollgate limits create | update` warn, on stderr, of a limit below the default completion reservation. */
describe('tollgate limits: warnings for small limits', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
  });
  afterAll(() => gw.close());

  it('warns when a TPM or quota is below the 1024 tokens reserved for requests without max_tokens', SLOW, async () => {
    const created = await runCli(gw.url, ['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--tpm', '300', '--json']);
    expect(created.code).toBe(0);
    const limit = JSON.parse(created.stdout) as { id: string; warnings: string[] };
    expect(limit.warnings).toHaveLength(1);
    expect(created.stderr).toMatch(/warning: tokensPerMinute 300 is below the 1024 completion tokens reserved for a request without max_tokens/);
    expect(created.stderr).toContain('x-tollgate-max-tokens-capped');

    const raised = await runCli(gw.url, ['limits', 'update', limit.id, '--gateway', 'gw1', '--tpm', '5000']);
    expect(raised.code).toBe(0);
    expect(raised.stderr).not.toContain('warning');

    // A deployment's own default reservation is the one that counts for its limits.
    expect((await gw.admin('PATCH', '/resources/r1/deployments/sim-chat', { defaultCompletionReservation: 100 })).status).toBe(200);
    const small = await runCli(gw.url, ['limits', 'create', '--gateway', 'gw1', '--project', 'p1', '--deployment', 'sim-chat', '--quota', '500', '--period', 'daily']);
    expect(small.code).toBe(0);
    expect(small.stderr).not.toContain('warning');
  });
});
