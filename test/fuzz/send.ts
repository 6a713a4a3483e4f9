import { ERROR_CATALOG } from '../../src/errors.js';
import type { FuzzInput } from './inputs.js';

export interface FuzzOutcome {
  input: FuzzInput;
  status: number;
  code: string | null;
  /** Why the answer is not acceptable, or null: a 5xx, an error without a catalogued code, no answer at all. */
  problem: string | null;
}

/** Sends one input and judges the answer: anything under 500, and every error the gateway makes catalogued. */
export async function send(url: string, input: FuzzInput, credentials: { projectKey: string; adminToken: string }): Promise<FuzzOutcome> {
  const headers: Record<string, string> =
    input.auth === 'project'
      ? { authorization: `Bearer ${credentials.projectKey}`, 'x-api-key': credentials.projectKey }
      : { authorization: `Bearer ${credentials.adminToken}` };
  if (input.body !== undefined) headers['content-type'] = input.contentType ?? 'application/json';
  let res: Response;
  try {
    res = await fetch(`${url}${input.path}`, { method: input.method, headers, body: input.body, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    return { input, status: 0, code: null, problem: `no answer: ${(err as Error).message}` };
  }
  const text = await res.text();
  let code: string | null = null;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } };
    code = typeof body.error?.code === 'string' ? body.error.code : null;
  } catch {
    // streams and non-JSON answers carry no code
  }
  let problem: string | null = null;
  if (res.status >= 500) problem = `${res.status} ${code ?? ''} ${text.slice(0, 200)}`;
  else if (res.status >= 400 && !(code !== null && code in ERROR_CATALOG) && !(input.auth === 'project' && code === null)) {
    problem = `${res.status} without a catalogued code: ${text.slice(0, 200)}`;
  }
  return { input, status: res.status, code, problem };
}
// On the data plane, an error with a null code is the upstream's own (the simulated model's, here),
// passed through unchanged as a real upstream's would be: the gateway's errors always carry a code.
