import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * MCP servers through the gateway (docs/mcp.md): servers registered on a resource, grants of a
 * server to a project on a gateway (with a tool allow-list), call limits, and the call ledger
 * (one row per JSON-RPC message a client sent).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const float8 = db.getExecutor().adapter instanceof PostgresAdapter ? 'double precision' : 'real';
  await db.schema
    .createTable('mcp_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('auth_type', 'text', (c) => c.notNull())
    .addColumn('auth_header_name', 'text')
    .addColumn('auth_value_sealed', 'text')
    .addColumn('description', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('mcp_servers_resource_name', ['resource_id', 'name'])
    .execute();

  await db.schema
    .createTable('mcp_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
    .addColumn('server_id', 'text', (c) => c.notNull().references('mcp_servers.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    /** JSON array of tool names; null: every tool. */
    .addColumn('tools', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('mcp_grants_scope', ['gateway_id', 'server_id', 'project_id'])
    .execute();

  await db.schema
    .createTable('mcp_limits')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('server_id', 'text', (c) => c.notNull().references('mcp_servers.id').onDelete('cascade'))
    .addColumn('tool', 'text')
    // tool or '' — one unique index forbids two limits for the same scope.
    .addColumn('scope_key', 'text', (c) => c.notNull())
    .addColumn('calls_per_minute', 'bigint')
    .addColumn('call_quota', 'bigint')
    .addColumn('quota_period', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('mcp_limits_scope', ['gateway_id', 'project_id', 'server_id', 'scope_key'])
    .execute();

  await db.schema
    .createTable('mcp_call_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('server', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('tool', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('latency_ms', float8, (c) => c.notNull())
    .addColumn('upstream_ms', float8)
    .addColumn('session', 'text')
    .execute();
  // Ids are time-ordered: (gateway, id) serves time ranges and pages.
  await db.schema.createIndex('mcp_call_log_gateway_id').on('mcp_call_log').columns(['gateway', 'id']).execute();
}
