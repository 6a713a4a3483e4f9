/** A client mistake the simulated model answers with a 400, as OpenAI would. */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
    this.name = 'InvalidRequest';
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The lowest of the named token caps the body sets (absent or null ones ignored). */
export function readTokenCap(body: Record<string, unknown>, keys: readonly string[]): number | null {
  let cap: number | null = null;
  for (const key of keys) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidRequest(`'${key}' must be an integer >= 1`, key);
    }
    cap = cap === null ? value : Math.min(cap, value);
  }
  return cap;
}

/** A non-empty array of objects (chat messages, Responses input items). */
export function readObjectArray(value: unknown, param: string): readonly Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidRequest(`'${param}' must be a non-empty array of objects`, param);
  }
  value.forEach((item, index) => {
    if (!isPlainObject(item)) throw new InvalidRequest(`'${param}[${index}]' must be an object`, `${param}[${index}]`);
  });
  return value as Record<string, unknown>[];
}

/** Whether the client asked for a final usage chunk (`stream_options.include_usage`). */
export function wantsStreamUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options;
  return isPlainObject(options) && options.include_usage === true;
}
