import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Custom agents (docs/agents.md): agents registered on a gateway for an owning project, the other
 * projects granted their use, per-project request limits, and a ledger of proxied requests (its
 * own table: an agent request has no deployment and no tokens).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const float8 = db.getExecutor().adapter instanceof PostgresAdapter ? 'double precision' : 'real';
  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('agent_card_url', 'text')
    .addColumn('otel_agent_id', 'text')
    .addColumn('admin_portal_url', 'text')
    .addColumn('description', 'text')
    .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(sql`0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('agents_gateway_name', ['gateway_id', 'name'])
    .execute();
  await db.schema
    .createTable('agent_grants')
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_grants_pk', ['agent_id', 'project_id'])
    .execute();
  await db.schema
    .createTable('agent_limits')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('requests_per_minute', 'bigint')
    .addColumn('request_quota', 'bigint')
    .addColumn('quota_period', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('agent_limits_scope', ['agent_id', 'project_id'])
    .execute();
  await db.schema
    .createTable('agent_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('rpc_method', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('latency_ms', float8, (c) => c.notNull())
    .addColumn('streamed', 'integer', (c) => c.notNull())
    .addColumn('otel_agent_id', 'text')
    // 1: the request reached the agent and counts against its limits (what re-seeding counts).
    .addColumn('counted', 'integer', (c) => c.notNull().defaultTo(sql`0`))
    .execute();
  await db.schema.createIndex('agent_requests_gateway_id').on('agent_requests').columns(['gateway', 'id']).execute();
}
