import { Client } from 'undici';

export interface TtfbResult {
  samples: number[];
  /** Requests that failed or answered ≥ 400. */
  failures: number;
}

/**
 * Time to the first body chunk of streamed requests, one connection, strictly sequential: each
 * sample is from sending the request to receiving the first chunk of the response body (µs).
 * The rest of the body is read before the next request, so the connection is reused.
 */
export async function probeTtfb(
  client: Client,
  path: string,
  body: string,
  key: string,
  requests: number,
  out: TtfbResult = { samples: [], failures: 0 },
): Promise<TtfbResult> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  for (let i = 0; i < requests; i++) {
    const started = process.hrtime.bigint();
    let first = 0n;
    try {
      const res = await client.request({ method: 'POST', path, headers, body });
      for await (const _chunk of res.body) {
        if (first === 0n) first = process.hrtime.bigint();
      }
      if (res.statusCode >= 400 || first === 0n) out.failures++;
      else out.samples.push(Number(first - started) / 1000);
    } catch {
      out.failures++;
    }
  }
  return out;
}

/** One connection (pipelining 1) to an origin. */
export const singleConnection = (origin: string) => new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
