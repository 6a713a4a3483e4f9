/**
 * Does writing the request ledger slow the request path? Two gateways in one run — ledger on and
 * off, both governed (TPM + quota) against the built-in simulated model with no latency — are
 * loaded in turn with autocannon, alternating to cancel drift. Prints RPS and latency per round
 * and the on/off ratio.
 *
 *   npm run build && npx tsx bench/ledger.ts [--seconds 5] [--rounds 3] [--connections 16]
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { startGatewayProcess, seedGoverned, type GatewayProcess } from './lib/gateway-process.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '16' } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

const body = JSON.stringify({ model: 'bench-model', max_tokens: 16, messages: [{ role: 'user', content: 'Benchmark me, please.' }] });

async function load(url: string, key: string) {
  const result = await autocannon({
    url: `${url}/openai/v1/chat/completions`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const targets: Array<{ name: string; gw: GatewayProcess; key: string }> = [];
try {
  for (const [name, ledger, port] of [
    ['ledger on', 'on', 18931],
    ['ledger off', 'off', 18932],
  ] as const) {
    const gw = await startGatewayProcess(port, { TOLLGATE_LEDGER: ledger });
    targets.push({ name, gw, key: await seedGoverned(gw, { provider: 'simulated', options: { completionTokens: 16 } }, true) });
  }
  for (const t of targets) await load(t.gw.url, t.key); // warm-up
  const rps: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  console.log(`${connections} connections, ${seconds} s per measurement, ${rounds} rounds (alternating)\n`);
  console.log('round  target       req/s     p50 ms  p99 ms');
  for (let round = 1; round <= rounds; round++) {
    for (const t of round % 2 ? targets : [...targets].reverse()) {
      const r = await load(t.gw.url, t.key);
      rps[t.name]!.push(r.rps);
      console.log(`${String(round).padEnd(6)} ${t.name.padEnd(11)} ${r.rps.toFixed(0).padStart(7)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const on = mean(rps['ledger on']!);
  const off = mean(rps['ledger off']!);
  console.log(`\nmean req/s: ledger on ${on.toFixed(0)}, ledger off ${off.toFixed(0)}; on/off = ${(on / off).toFixed(3)}`);
} finally {
  for (const t of targets) await t.gw.stop();
}
