import { newId } from '../../domain/ids.js';
import type { AdminToken, Role } from '../../domain/model.js';
import { generateAdminToken } from '../../security/keys.js';
import { invalid, notFound } from '../admin-errors.js';
import type { AuditView, CreatedAdminToken, Page } from '../api-types.js';
import type { Principal } from '../permissions.js';
import { adminTokenView, auditView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

/** Admin tokens ("users"): audited, but not configuration (no config version, nothing to publish). */
export class TokenAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list() {
    return (await this.ctx.store.listAdminTokens()).map(adminTokenView);
  }

  /** The token is shown once; only its hash is stored. */
  async create(actor: Principal, input: { name: string; role: Role; resources?: string[] | null }): Promise<CreatedAdminToken> {
    const generated = generateAdminToken();
    const token: AdminToken = {
      id: newId('tok'),
      name: input.name,
      role: input.role,
      resources: input.role === 'project-admin' ? (input.resources ?? null) : null,
      hash: generated.stored.hash,
      hint: generated.stored.hint,
      createdAt: now(),
    };
    await this.ctx.changes.audited(actor, 'admin-token.create', `tokens/${token.id}`, { name: token.name, role: token.role }, (tx) =>
      tx.insertAdminToken(token),
    );
    return { ...adminTokenView(token), token: generated.secret };
  }

  async delete(actor: Principal, id: string) {
    if (id === actor.id) throw invalid('an admin token cannot revoke itself; use another owner token');
    const revoked = (await this.ctx.store.listAdminTokens()).find((t) => t.id === id);
    await this.ctx.changes.audited(
      actor,
      'admin-token.delete',
      `tokens/${id}`,
      null,
      async (tx) => {
        // Throwing inside the transaction rolls the audit entry back with it.
        if (!(await tx.deleteAdminToken(id))) throw notFound(`admin token "${id}" does not exist`);
      },
      revoked ? { name: revoked.name, role: revoked.role, resources: revoked.resources } : null,
    );
  }
}

/** The audit log, newest first. */
export class AuditLog {
  constructor(private readonly ctx: AdminContext) {}

  async list(options: { limit: number; before?: string }): Promise<Page<AuditView>> {
    // One more than asked tells whether a next page exists, so no cursor leads to an empty page.
    const rows = await this.ctx.store.listAudit({ ...options, limit: options.limit + 1 });
    const items = rows.slice(0, options.limit).map(auditView);
    return { items, nextCursor: rows.length > options.limit ? (items.at(-1)?.id ?? null) : null };
  }
}
