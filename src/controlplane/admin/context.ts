import type { ProviderRegistry } from '../../providers/registry.js';
import type { SecretBox } from '../../security/secret-box.js';
import type { Store } from '../../store/store.js';
import type { ChangeStep } from './change.js';
import type { Lookups } from './lookups.js';

/** What every part of the admin service shares: the store, the one change step and the lookups. */
export interface AdminContext {
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly providers: ProviderRegistry;
  readonly changes: ChangeStep;
  readonly find: Lookups;
  /** Completion tokens reserved for a request without max_tokens when its deployment sets none. */
  readonly defaultCompletionReservation: number;
}
