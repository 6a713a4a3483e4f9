import { newId } from '../../domain/ids.js';
import { UniqueViolationError, type Store } from '../../store/store.js';
import { conflict } from '../admin-errors.js';
import type { Principal } from '../permissions.js';

export const now = () => new Date().toISOString();

/**
 * The one way the control plane changes anything: the write, its audit entry and (for
 * configuration) a new config version commit in one transaction, then the new snapshot is
 * published so the next request on every node sees it.
 */
export class ChangeStep {
  constructor(
    private readonly store: Store,
    /** Publishes the committed change to the data plane; awaited so the next request sees it. */
    private readonly publish: () => Promise<void>,
  ) {}

  /**
   * Commits a config change with its audit entry and a new config version, then publishes it.
   * `previous` is what the change replaced (the old values of what `detail` sets), so the audit
   * log reads old → new.
   */
  async change(
    actor: Principal,
    action: string,
    target: string,
    detail: Record<string, unknown> | null,
    write: (tx: Store) => Promise<void>,
    previous: Record<string, unknown> | null = null,
  ): Promise<void> {
    await this.audited(
      actor,
      action,
      target,
      detail,
      async (tx) => {
        await write(tx);
        await tx.bumpConfigVersion();
      },
      previous,
    );
    await this.publish();
  }

  /** Commits a write with its audit entry: for what is not configuration (admin tokens). */
  async audited(
    actor: Principal,
    action: string,
    target: string,
    detail: Record<string, unknown> | null,
    write: (tx: Store) => Promise<void>,
    previous: Record<string, unknown> | null = null,
  ): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        await write(tx);
        await tx.appendAudit({ id: newId('aud'), at: now(), actor: actor.name, action, target, detail, previous });
      });
    } catch (err) {
      // Lost a race with another admin: the database's constraint is the final word.
      if (err instanceof UniqueViolationError) throw conflict(`${target} conflicts with an existing record`, undefined);
      throw err;
    }
  }
}
