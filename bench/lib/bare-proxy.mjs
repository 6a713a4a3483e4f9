/**
 * The floor of a Node.js proxy: node:http in front, undici's dispatch API behind (as Tollgate
 * uses them), no governance, no ledger, no metrics. bench/floor.ts measures it beside Tollgate to
 * show how much of Tollgate's cost per request is Node's HTTP on both sides.
 *
 *   node bench/lib/bare-proxy.mjs <port> <upstream base URL, e.g. http://127.0.0.1:8081/v1>
 *
 * POST /openai/v1/<path> goes to <base URL>/<path>; the answer is read whole and sent back.
 */
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';
import { Agent } from 'undici';

const [port, base] = process.argv.slice(2);
const { origin, pathname } = new URL(base);
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1 });

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const out = [];
    let status = 502;
    agent.dispatch(
      { origin, path: pathname + req.url.replace(/^\/openai\/v1/, ''), method: 'POST', headers: ['content-type', 'application/json'], body: Buffer.concat(chunks) },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          out.push(chunk);
        },
        onResponseEnd() {
          const body = Buffer.concat(out);
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        },
        onResponseError(_controller, err) {
          res.writeHead(502);
          res.end(String(err));
        },
      },
    );
  });
}).listen(Number(port), '127.0.0.1');
