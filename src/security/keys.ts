import { hash, randomBytes } from 'node:crypto';
import type { ApiKeyHash } from '../domain/model.js';

const PROJECT_KEY_PREFIX = 'tgk_';
const ADMIN_TOKEN_PREFIX = 'tga_';

/**
 * Keys are 192 random bits, so a fast hash is enough to store them: there is nothing to
 * brute-force, and the data plane can look a key up with one SHA-256 per request.
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex'); // one-shot: no Hash object per request
}

function generate(prefix: string): { secret: string; stored: ApiKeyHash } {
  const secret = prefix + randomBytes(24).toString('base64url');
  return { secret, stored: { hash: hashSecret(secret), hint: secret.slice(0, prefix.length + 4) } };
}

export const generateProjectKey = () => generate(PROJECT_KEY_PREFIX);
export const generateAdminToken = () => generate(ADMIN_TOKEN_PREFIX);

/** Stores a token the operator chose (TOLLGATE_ADMIN_TOKEN) the same way as a generated one. */
export function storedFormOf(secret: string): ApiKeyHash {
  return { hash: hashSecret(secret), hint: secret.slice(0, 8) };
}
