import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { loadCorpus } from './corpus.js';
import { mutate, queryInputs, random, SEEDS, type FuzzInput } from './inputs.js';
import { send, type FuzzOutcome } from './send.js';

/** Mutations per seed in the suite's pass (fixed seed: the same inputs every run). `npm run fuzz` draws many more. */
const PER_SEED = 12;

/**
 * Hostile inputs to every data-plane path and admin route: each gets an answer under 500 — a
 * catalogued 4xx when the gateway refuses it — and the process stays alive and responsive.
 */
describe('fuzz corpus', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  beforeAll(async () => {
    gw = await startGateway({ authFailuresPerMinute: 0 });
    seeded = await seedBasic(gw);
    // Content logging walks every body: on, so it is exercised too.
    expect((await gw.admin('PATCH', '/gateways/gw1', { logContent: true })).status).toBe(200);
  });
  afterAll(() => gw.close());

  const run = async (inputs: FuzzInput[]): Promise<FuzzOutcome[]> => {
    const outcomes: FuzzOutcome[] = [];
    for (const input of inputs) outcomes.push(await send(gw.url, input, { projectKey: seeded.key, adminToken: ADMIN_TOKEN }));
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    return outcomes;
  };

  it('answers the committed corpus (inputs that broke the gateway once) with catalogued 4xx', async () => {
    const outcomes = await run(loadCorpus());
    expect(outcomes.filter((o) => o.problem !== null).map((o) => `${o.input.name}: ${o.problem}`)).toEqual([]);
    expect(outcomes.filter((o) => o.status < 400).map((o) => `${o.input.name}: ${o.status}`)).toEqual([]);
  });

  it('answers mutations of a valid request to every route, and hostile query strings, under 500', async () => {
    const rand = random(20261204);
    const inputs = [...SEEDS.flatMap((seed) => Array.from({ length: PER_SEED }, () => mutate(seed, rand))), ...queryInputs()];
    const outcomes = await run(inputs);
    expect(outcomes.filter((o) => o.problem !== null).map((o) => `${o.input.name}: ${o.problem}`)).toEqual([]);
    // Most are refused, as they should be; a few mutations leave a request valid.
    expect(outcomes.filter((o) => o.status >= 400).length).toBeGreaterThan(inputs.length / 2);
  }, 120_000);
});
