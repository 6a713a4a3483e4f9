/**
 * Peak memory of a governed gateway under 64-connection load, with node flags to compare, e.g.
 *   npm run build && npx tsx bench/memory.ts default
 *   npx tsx bench/memory.ts --max-old-space-size=96
 * Prints the peak RSS (VmHWM) before and after 8 s of load, the load's req/s and p99, and the V8
 * heap afterwards: a large heap "used" that a capped old space does not have is uncollected garbage.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { freePort, startNginx, upstreamConfig } from './lib/nginx.js';
import { seedGoverned, startGatewayProcess } from './lib/gateway-process.js';
import { requestBody } from './lib/upstream.js';

const variant = process.argv[2] ?? 'default';
let n = 0;
const env: Record<string, string> = {};
const nodeArgs = variant === 'default' ? [] : variant.split(',');
const upstreamPort = await freePort();
const upstream = await startNginx('upstream', (dir: string) => upstreamConfig(dir, upstreamPort), upstreamPort);
const gw = await startGatewayProcess(await freePort(), env, { nodeArgs });
try {
  const key = await seedGoverned(gw, { provider: 'openai-compatible', upstreamUrl: `http://127.0.0.1:${upstreamPort}/v1` }, true);
  const rss = () => readFileSync(`/proc/${gw.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)![1];
  console.log(variant, 'idle peak kB', rss());
  const r = await autocannon({ url: `${gw.url}/openai/v1/chat/completions`, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, connections: 64, duration: 8, requests: [{ setupRequest: (req) => ({ ...req, body: requestBody('bench-model', false, n++) }) }] });
  console.log(variant, 'after load peak kB', rss(), 'rps', r.requests.average, 'p99', r.latency.p99);
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  console.log(m.split('\n').filter((l) => /^nodejs_heap_size_(total|used)|^nodejs_external|^nodejs_heap_space_size_(total|used)/.test(l)).join('\n'));
} finally {
  await gw.stop();
  await upstream.stop();
}
