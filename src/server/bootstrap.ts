import { newId } from '../domain/ids.js';
import type { Role } from '../domain/model.js';
import { generateAdminToken, storedFormOf } from '../security/keys.js';
import { UniqueViolationError, type Store } from '../store/store.js';

/**
 * Makes sure someone can administer the gateway. TOLLGATE_ADMIN_TOKEN bootstraps an owner: it is
 * stored while the store has no owner token, and is one as long as it stays stored. Once other
 * owners exist, a value the store does not hold is not added: a revoked token stays revoked across
 * restarts (and `warn` says so). Without the variable, on a store with no admin token at all, an
 * owner token is generated and returned once, for the caller to print; afterwards only its hash exists.
 */
export async function ensureAdminToken(store: Store, configured: string | undefined, warn: (message: string) => void = () => {}): Promise<string | null> {
  if (configured) {
    const stored = storedFormOf(configured);
    if (!(await store.findAdminTokenByHash(stored.hash))) {
      if ((await store.listAdminTokens()).some((t) => t.role === 'owner')) {
        warn(
          'TOLLGATE_ADMIN_TOKEN is not a token of this store (it was revoked, or never added) and owner tokens exist: it is not added. ' +
            'Create admin tokens with an owner token (`tollgate tokens create`) or `tollgate admin-token create --data-dir <dir>`.',
        );
        return null;
      }
      try {
        await insertToken(store, 'env:TOLLGATE_ADMIN_TOKEN', 'owner', stored.hash, stored.hint);
      } catch (err) {
        // Another node starting at the same moment stored it first.
        if (!(err instanceof UniqueViolationError)) throw err;
      }
    }
    return null;
  }
  if ((await store.listAdminTokens()).length > 0) return null;
  return createAdminTokenDirectly(store, 'initial owner', 'owner');
}

/**
 * Creates an admin token straight in the store, without the API: the way back in when every token
 * is lost (`tollgate admin-token create` on the data directory). Audited as done by the CLI.
 */
export async function createAdminTokenDirectly(store: Store, name: string, role: Role): Promise<string> {
  const generated = generateAdminToken();
  await insertToken(store, name, role, generated.stored.hash, generated.stored.hint);
  return generated.secret;
}

async function insertToken(store: Store, name: string, role: Role, hash: string, hint: string): Promise<void> {
  const id = newId('tok');
  const at = new Date().toISOString();
  await store.transaction(async (tx) => {
    await tx.insertAdminToken({ id, name, role, resources: null, hash, hint, createdAt: at });
    await tx.appendAudit({ id: newId('aud'), at, actor: 'system', action: 'admin-token.create', target: `tokens/${id}`, detail: { name, role } });
  });
}
