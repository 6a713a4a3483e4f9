/**
 * The tool allow-list applied to what a server answers: a `tools/list` result keeps only the
 * allowed tools. Applied to every response message that carries a tool list, however it came
 * (a JSON answer, an SSE event of a POST's stream or of a resumed stream).
 */

/** The message with its result's tools filtered; null when it carries no tool list (leave it as is). */
export function filterToolList(message: unknown, allowed: ReadonlySet<string>): unknown | null {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null;
  const m = message as Record<string, unknown>;
  const result = m.result as Record<string, unknown> | undefined;
  if (!result || typeof result !== 'object' || !Array.isArray(result.tools)) return null;
  const tools = (result.tools as unknown[]).filter((t) => {
    const name = t !== null && typeof t === 'object' ? (t as Record<string, unknown>).name : undefined;
    return typeof name === 'string' && allowed.has(name);
  });
  return { ...m, result: { ...result, tools } };
}

/** The text of a JSON message with its tool list filtered, or null when it has none (cheap test first). */
export function filterToolListText(text: string, allowed: ReadonlySet<string>): string | null {
  if (!text.includes('"tools"')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const filtered = filterToolList(parsed, allowed);
  return filtered === null ? null : JSON.stringify(filtered);
}
