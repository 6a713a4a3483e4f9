import { expect } from 'vitest';

/** What the admin and data-plane APIs answer on an error: `{error: {code, message, ...}}`. */
export interface ErrorBody {
  error: { code: string; message: string; type?: string; param?: string | null };
}

export interface Answer {
  status: number;
  body: unknown;
}

function errorOf(body: unknown): ErrorBody['error'] | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as ErrorBody['error']) : undefined;
}

/** Asserts an exact status and error code; answers the error message for further checks. */
export function expectError(res: Answer, status: number, code: string): string {
  const error = errorOf(res.body);
  expect({ status: res.status, code: error?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expect(typeof error?.message).toBe('string');
  expect(error?.message.length).toBeGreaterThan(0);
  return error?.message ?? '';
}

/** Asserts an exact success status; answers the body. */
export function expectStatus<T = unknown>(res: { status: number; body: T }, status: number): T {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/**
 * Polls until `done` holds, at most `attempts` times `intervalMs` apart, and answers the last
 * value seen (the caller asserts on it, so a timeout fails with the real value).
 */
export async function poll<T>(fn: () => Promise<T>, done: (value: T) => boolean, attempts = 50, intervalMs = 20): Promise<T> {
  let value = await fn();
  for (let i = 1; i < attempts && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await fn();
  }
  return value;
}

/** One OpenAI-style chat completion on the data plane with a project key. */
export async function chat(baseUrl: string, key: string, model = 'sim-chat'): Promise<Answer> {
  const res = await fetch(`${baseUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text so a failing assertion shows it
  }
  return { status: res.status, body };
}

/** A raw admin call: any body text and headers, for malformed and oversized input. */
export async function rawAdmin(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body?: string,
  contentType = 'application/json',
): Promise<Answer> {
  const res = await fetch(`${baseUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}
