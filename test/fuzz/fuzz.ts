/**
 * `npm run fuzz [-- --iterations N --seed S]`: a longer randomized pass than the suite's, against a
 * gateway in this process. Prints what it tried (per route and status) and every input answered
 * with a 5xx or an uncatalogued error, which it also writes to test/fuzz/found-<seed>.json — add
 * those to corpus.json once fixed, so they stay fixed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN, seedBasic, startGateway } from '../support/harness.js';
import { mutate, queryInputs, random, SEEDS } from './inputs.js';
import { send, type FuzzOutcome } from './send.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '3000' }, seed: { type: 'string', default: String(Date.now() % 1_000_000) } } });
const iterations = Number(values.iterations);
const seed = Number(values.seed);
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(seed)) throw new Error('--iterations and --seed take whole numbers');

const gw = await startGateway({ authFailuresPerMinute: 0 });
const seeded = await seedBasic(gw);
await gw.admin('PATCH', '/gateways/gw1', { logContent: true });
const rand = random(seed);
const inputs = [...queryInputs(), ...Array.from({ length: iterations }, () => mutate(SEEDS[Math.floor(rand() * SEEDS.length)]!, rand))];
process.stdout.write(`fuzz: seed ${seed}, ${inputs.length} inputs over ${SEEDS.length} routes and ${queryInputs().length} query strings\n`);

const outcomes: FuzzOutcome[] = [];
const started = performance.now();
for (const [i, input] of inputs.entries()) {
  outcomes.push(await send(gw.url, input, { projectKey: seeded.key, adminToken: ADMIN_TOKEN }));
  if ((i + 1) % 500 === 0) process.stdout.write(`  ${i + 1}/${inputs.length} sent, ${outcomes.filter((o) => o.problem).length} problems\n`);
}
const alive = (await fetch(`${gw.url}/healthz`)).ok;
await gw.close();

const byRoute = new Map<string, Map<number, number>>();
for (const o of outcomes) {
  const route = o.input.name.split(':')[0]!;
  const statuses = byRoute.get(route) ?? new Map<number, number>();
  statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
  byRoute.set(route, statuses);
}
process.stdout.write(`\n${'route'.padEnd(48)} answers by status\n`);
for (const [route, statuses] of [...byRoute].sort()) {
  process.stdout.write(`${route.padEnd(48)} ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join('  ')}\n`);
}
const problems = outcomes.filter((o) => o.problem !== null);
process.stdout.write(`\n${inputs.length} inputs in ${Math.round(performance.now() - started) / 1000} s; process ${alive ? 'alive' : 'NOT answering /healthz'}; ${problems.length} problems\n`);
for (const p of problems) process.stdout.write(`  ${p.input.name}: ${p.problem}\n`);
if (problems.length > 0) {
  const file = new URL(`./found-${seed}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(problems.map((p) => p.input), null, 2));
  process.stdout.write(`written to ${file.pathname}\n`);
}
process.exit(problems.length > 0 || !alive ? 1 : 0);
