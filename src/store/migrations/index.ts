import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-limiter-state.js';
import * as m0003 from './0003-usage.js';
import * as m0004 from './0004-nodes.js';
import * as m0005 from './0005-rollup-marks.js';
import * as m0006 from './0006-limiter-checkpoint.js';
import * as m0007 from './0007-gateway-defaults-cors.js';
import * as m0008 from './0008-sealed-upstream-url.js';
import * as m0009 from './0009-backend-pools.js';
import * as m0010 from './0010-mcp.js';
import * as m0011 from './0011-agents.js';
import * as m0012 from './0012-cost.js';
import * as m0013 from './0013-audit-previous.js';
import * as m0014 from './0014-refusals.js';
import * as m0014b from './0014-refusals-gateway-ids.js';

/** Versioned migrations, applied in name order and recorded in the store. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async (): Promise<Record<string, Migration>> => ({
    '0001-initial': m0001,
    '0002-limiter-state': m0002,
    '0003-usage': m0003,
    '0004-nodes': m0004,
    '0005-rollup-marks': m0005,
    '0006-limiter-checkpoint': m0006,
    '0007-gateway-defaults-cors': m0007,
    '0008-sealed-upstream-url': m0008,
    '0009-backend-pools': m0009,
    '0010-mcp': m0010,
    '0011-agents': m0011,
    '0012-cost': m0012,
    '0013-audit-previous': m0013,
    '0014-refusals': m0014,
    '0014-refusals-gateway-ids': m0014b,
  }),
};
