/**
 * Bodies nested deeper than this are refused (400): no client of a model API needs more, and code
 * that walks a body recursively (token estimates, content logging, schema validation) must never
 * meet a depth that overflows its stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests objects or arrays more than `max` levels deep. Stops at the first branch
 * that does, so its own recursion is bounded by `max`; otherwise visits every node once.
 */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object' && nestedDeeperThan(item, max - 1)) return true;
    return false;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === 'object' && nestedDeeperThan(item, max - 1)) return true;
  }
  return false;
}
