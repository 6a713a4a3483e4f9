import { Option, type Command } from 'commander';
import type { McpGrantView, McpLimitStatusView, McpLimitView, McpLogPage, McpLogView, McpServerView, McpUsageReport } from '../../controlplane/api-types.js';
import { QUOTA_PERIODS } from '../../domain/model.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { intOption } from '../options.js';
import { formatTable, out, printJson, printList, when, type Column } from '../output.js';
import { ADMIN_GROUP, collect, connect, MAX_TOKENS, orNull, tokensOrNone, withConnection, type ConnectionFlags } from './common.js';

/*
 * `tollgate mcp …`: MCP servers of a resource (register, edit, block), grants of a server to a
 * project with its tool allow-list, call limits and the calls made (docs/mcp.md).
 */

const serverColumns: Column<McpServerView>[] = [
  { header: 'name', value: (s) => s.name },
  { header: 'status', value: (s) => s.status },
  { header: 'url', value: (s) => s.url },
  { header: 'auth', value: (s) => (s.upstreamAuth.type === 'header' ? `header ${s.upstreamAuth.headerName}` : s.upstreamAuth.type) },
  { header: 'path', value: (s) => s.path },
];
const grantColumns: Column<McpGrantView>[] = [
  { header: 'server', value: (g) => g.server },
  { header: 'project', value: (g) => g.project },
  { header: 'tools', value: (g) => (g.tools === null ? '(all)' : g.tools.length === 0 ? '(none)' : g.tools.join(',')) },
  { header: 'server status', value: (g) => g.serverStatus },
];
const limitColumns: Column<McpLimitView>[] = [
  { header: 'id', value: (l) => l.id },
  { header: 'project', value: (l) => l.project },
  { header: 'server', value: (l) => l.server },
  { header: 'tool', value: (l) => l.tool ?? '(all)' },
  { header: 'calls/min', value: (l) => l.callsPerMinute },
  { header: 'quota', value: (l) => l.callQuota },
  { header: 'period', value: (l) => l.quotaPeriod },
];
const logColumns: Column<McpLogView>[] = [
  { header: 'time', value: (e) => when(e.time) },
  { header: 'project', value: (e) => e.project },
  { header: 'server', value: (e) => e.server },
  { header: 'method', value: (e) => e.method },
  { header: 'tool', value: (e) => e.tool },
  { header: 'status', value: (e) => e.status },
  { header: 'outcome', value: (e) => e.outcome },
  { header: 'error', value: (e) => e.errorCode },
  { header: 'ms', value: (e) => Math.round(e.latencyMs) },
];

interface ServerFlags extends ConnectionFlags {
  resource: string;
  endpoint?: string;
  auth?: 'none' | 'bearer' | 'header';
  headerName?: string;
  authValueEnv?: string;
  description?: string;
}

/** The upstreamAuth of the flags: the credential comes from an environment variable, never a flag. */
function upstreamAuthOf(flags: ServerFlags): { type: string; headerName?: string; value?: string } | undefined {
  if (flags.auth === undefined) {
    if (flags.headerName || flags.authValueEnv) throw new Error('--header-name and --auth-value-env go with --auth bearer or --auth header');
    return undefined;
  }
  let value: string | undefined;
  if (flags.authValueEnv) {
    value = process.env[flags.authValueEnv];
    if (!value) throw new Error(`--auth-value-env ${flags.authValueEnv}: the environment variable is not set`);
  }
  return { type: flags.auth, ...(flags.headerName ? { headerName: flags.headerName } : {}), ...(value === undefined ? {} : { value }) };
}

export function registerMcpCommands(program: Command): void {
  const mcp = program.command('mcp').helpGroup(ADMIN_GROUP).description('MCP servers through the gateway: servers, grants with tool allow-lists, call limits, calls');
  const resourceFlag = (cmd: Command) => cmd.requiredOption('-r, --resource <name>', 'the resource');
  const gatewayFlag = (cmd: Command) => cmd.requiredOption('-g, --gateway <name>', 'the gateway');
  const authOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('--auth <type>', "how the gateway authenticates to the server (the client's key never goes there)").choices(['none', 'bearer', 'header']))
      .option('--header-name <name>', 'with --auth header: the header carrying the credential')
      .option('--auth-value-env <VAR>', 'the environment variable holding the credential (sealed at rest, never shown again)')
      .option('--description <text>', 'what the server is for');
  const showServer = (flags: ConnectionFlags, s: McpServerView) => (flags.json ? printJson(s) : out(formatTable([s], serverColumns)));

  const servers = mcp.command('servers').description("a resource's MCP servers");
  withConnection(resourceFlag(servers.command('list').description("list a resource's MCP servers"))).action(async (flags: ServerFlags) => {
    const body = await connect(flags).get<ListBody<McpServerView>>(apiPath`/resources/${flags.resource}/mcp-servers`);
    printList(flags.json, body, serverColumns, `no MCP servers in resource "${flags.resource}" yet — add one with: tollgate mcp servers create <name> -r ${flags.resource} --endpoint <url>`);
  });
  withConnection(authOptions(resourceFlag(servers.command('create').argument('<name>', 'server name (clients use /mcp/<name>)').description('register an MCP server')).requiredOption('--endpoint <url>', "the server's Streamable HTTP endpoint (its URL)"))).action(
    async (name: string, flags: ServerFlags) => {
      const auth = upstreamAuthOf(flags);
      const created = await connect(flags).post<McpServerView>(apiPath`/resources/${flags.resource}/mcp-servers`, {
        name,
        url: flags.endpoint,
        ...(auth ? { upstreamAuth: auth } : {}),
        ...(flags.description !== undefined ? { description: flags.description } : {}),
      });
      showServer(flags, created);
    },
  );
  withConnection(authOptions(resourceFlag(servers.command('update').argument('<name>', 'server name').description('change a server; flags not given keep their value')).option('--endpoint <url>', "the server's URL"))).action(
    async (name: string, flags: ServerFlags) => {
      const auth = upstreamAuthOf(flags);
      const patch = { ...(flags.endpoint ? { url: flags.endpoint } : {}), ...(auth ? { upstreamAuth: auth } : {}), ...(flags.description !== undefined ? { description: flags.description } : {}) };
      if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass --endpoint, --auth or --description');
      showServer(flags, await connect(flags).patch<McpServerView>(apiPath`/resources/${flags.resource}/mcp-servers/${name}`, patch));
    },
  );
  for (const [verb, what] of [
    ['block', 'refuse every call to the server, on every node, until unblocked'],
    ['unblock', 'admit calls to the server again'],
  ] as const) {
    withConnection(resourceFlag(servers.command(verb).argument('<name>', 'server name').description(what))).action(async (name: string, flags: ServerFlags) => {
      showServer(flags, await connect(flags).post<McpServerView>(apiPath`/resources/${flags.resource}/mcp-servers/${name}/${verb}`));
    });
  }
  withConnection(resourceFlag(servers.command('delete').argument('<name>', 'server name').description('remove a server (with its grants and limits)'))).action(
    async (name: string, flags: ServerFlags) => {
      await connect(flags).delete(apiPath`/resources/${flags.resource}/mcp-servers/${name}`);
      if (!flags.json) out(`deleted MCP server "${name}" from resource "${flags.resource}"`);
    },
  );

  const grants = mcp.command('grants').description('which projects reach which MCP servers on a gateway, with which tools');
  withConnection(gatewayFlag(grants.command('list').description("list a gateway's MCP grants"))).action(async (flags: ConnectionFlags & { gateway: string }) => {
    const body = await connect(flags).get<ListBody<McpGrantView>>(apiPath`/gateways/${flags.gateway}/mcp-servers`);
    printList(flags.json, body, grantColumns, `no MCP grants on gateway "${flags.gateway}" yet — grant one with: tollgate mcp grants set -g ${flags.gateway} --server <s> --project <p> --all-tools`);
  });
  withConnection(
    gatewayFlag(grants.command('set').description("grant a server to a project, or replace its allow-list: --tool (repeat) or --all-tools"))
      .requiredOption('--server <name>', 'the MCP server')
      .requiredOption('--project <name>', 'the project')
      .option('--tool <name>', 'an allowed tool (repeat for more)', collect)
      .option('--all-tools', 'allow every tool of the server'),
  ).action(async (flags: ConnectionFlags & { gateway: string; server: string; project: string; tool?: string[]; allTools?: boolean }) => {
    if (flags.allTools === (flags.tool !== undefined)) throw new Error('give either --tool (one or more) or --all-tools');
    const grant = await connect(flags).put<McpGrantView>(apiPath`/gateways/${flags.gateway}/mcp-servers/${flags.server}/projects/${flags.project}`, {
      tools: flags.allTools ? null : flags.tool,
    });
    if (flags.json) printJson(grant);
    else out(formatTable([grant], grantColumns));
  });
  withConnection(gatewayFlag(grants.command('revoke').description("revoke a project's grant")).requiredOption('--server <name>', 'the MCP server').requiredOption('--project <name>', 'the project')).action(
    async (flags: ConnectionFlags & { gateway: string; server: string; project: string }) => {
      await connect(flags).delete(apiPath`/gateways/${flags.gateway}/mcp-servers/${flags.server}/projects/${flags.project}`);
      if (!flags.json) out(`revoked project "${flags.project}"'s access to MCP server "${flags.server}" on gateway "${flags.gateway}"`);
    },
  );

  const limits = mcp.command('limits').description("a gateway's MCP call limits: calls per minute and call quotas, per project and server (or tool)");
  type LimitFlags = ConnectionFlags & { gateway: string; cpm?: number | 'none'; quota?: number | 'none'; period?: string };
  const showLimit = (flags: ConnectionFlags, l: McpLimitView) => (flags.json ? printJson(l) : out(formatTable([l], limitColumns)));
  withConnection(gatewayFlag(limits.command('list').description("list a gateway's call limits"))).action(async (flags: LimitFlags) => {
    const body = await connect(flags).get<ListBody<McpLimitView>>(apiPath`/gateways/${flags.gateway}/mcp-limits`);
    printList(flags.json, body, limitColumns, `no MCP call limits on gateway "${flags.gateway}" yet`);
  });
  withConnection(
    gatewayFlag(limits.command('create').description('create a call limit; give --cpm, --quota with --period, or both'))
      .requiredOption('--project <name>', 'the project it limits')
      .requiredOption('--server <name>', 'the MCP server')
      .option('--tool <name>', 'limit only this tool (default: every tool of the server together)')
      .option('--cpm <n>', 'calls per minute', intOption('--cpm', 1, MAX_TOKENS))
      .option('--quota <n>', 'calls per quota period', intOption('--quota', 1, MAX_TOKENS))
      .addOption(new Option('--period <period>', 'the quota period').choices(QUOTA_PERIODS)),
  ).action(async (flags: LimitFlags & { project: string; server: string; tool?: string }) => {
    const created = await connect(flags).post<McpLimitView>(apiPath`/gateways/${flags.gateway}/mcp-limits`, {
      project: flags.project,
      server: flags.server,
      tool: flags.tool ?? null,
      callsPerMinute: orNull(flags.cpm) ?? null,
      callQuota: orNull(flags.quota) ?? null,
      quotaPeriod: flags.period ?? null,
    });
    showLimit(flags, created);
  });
  withConnection(
    gatewayFlag(limits.command('update').argument('<id>', 'limit id (see tollgate mcp limits list)').description('change a call limit; flags not given keep their value'))
      .option('--cpm <n|none>', 'calls per minute, or none', tokensOrNone('--cpm'))
      .option('--quota <n|none>', 'calls per quota period, or none (clears the period too)', tokensOrNone('--quota'))
      .addOption(new Option('--period <period|none>', 'the quota period, or none').choices([...QUOTA_PERIODS, 'none'])),
  ).action(async (id: string, flags: LimitFlags) => {
    const patch = Object.fromEntries(
      Object.entries({ callsPerMinute: orNull(flags.cpm), callQuota: orNull(flags.quota), quotaPeriod: orNull(flags.period) }).filter(([, v]) => v !== undefined),
    );
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass --cpm, --quota or --period');
    showLimit(flags, await connect(flags).patch<McpLimitView>(apiPath`/gateways/${flags.gateway}/mcp-limits/${id}`, patch));
  });
  withConnection(gatewayFlag(limits.command('status').argument('<id>', 'limit id').description('where a call limit stands now (every node counted)'))).action(
    async (id: string, flags: LimitFlags) => {
      const s = await connect(flags).get<McpLimitStatusView>(apiPath`/gateways/${flags.gateway}/mcp-limits/${id}/status`);
      if (flags.json) return printJson(s);
      const lines = [`MCP limit ${s.id}: project "${s.project}", server "${s.server}", ${s.tool === null ? 'every tool' : `tool "${s.tool}"`}`];
      if (s.perMinute) lines.push(`  per minute  ${s.perMinute.used} of ${s.perMinute.limit} calls used, ${s.perMinute.remaining} left`);
      if (s.quota) lines.push(`  quota       ${s.quota.used} of ${s.quota.limit} calls used this ${s.quota.period} period, resets ${when(s.quota.resetAt)}`);
      out(lines.join('\n'));
    },
  );
  withConnection(gatewayFlag(limits.command('delete').argument('<id>', 'limit id').description('delete a call limit'))).action(async (id: string, flags: LimitFlags) => {
    await connect(flags).delete(apiPath`/gateways/${flags.gateway}/mcp-limits/${id}`);
    if (!flags.json) out(`deleted MCP limit ${id} from gateway "${flags.gateway}"`);
  });

  withConnection(
    gatewayFlag(mcp.command('logs').description("a gateway's MCP calls, newest first"))
      .option('--project <name>', 'only this project')
      .option('--server <name>', 'only this server')
      .option('--tool <name>', 'only this tool')
      .option('--limit <n>', 'at most this many', intOption('--limit', 1, 500), 50),
  ).action(async (flags: ConnectionFlags & { gateway: string; project?: string; server?: string; tool?: string; limit: number }) => {
    const query = new URLSearchParams({ kind: 'mcp', limit: String(flags.limit) });
    for (const key of ['project', 'server', 'tool'] as const) if (flags[key]) query.set(key, flags[key]);
    const page = await connect(flags).get<McpLogPage>(`${apiPath`/gateways/${flags.gateway}/logs`}?${query}`);
    printList(flags.json, page, logColumns, `no MCP calls on gateway "${flags.gateway}" in this range`);
  });

  withConnection(
    gatewayFlag(mcp.command('usage').description("a gateway's MCP calls over the last day (or --hours), by outcome, in total or per project, server or tool"))
      .addOption(new Option('--group-by <what>', 'one row per project, server or tool').choices(['project', 'server', 'tool']))
      .option('--hours <n>', 'how far back', intOption('--hours', 1, 24 * 366), 24),
  ).action(async (flags: ConnectionFlags & { gateway: string; groupBy?: string; hours: number }) => {
    const now = Date.now();
    const query = new URLSearchParams({ kind: 'mcp', from: String(now - flags.hours * 3_600_000), to: String(now), ...(flags.groupBy ? { groupBy: flags.groupBy } : {}) });
    const report = await connect(flags).get<McpUsageReport>(`${apiPath`/gateways/${flags.gateway}/usage`}?${query}`);
    if (flags.json) return printJson(report);
    const rows = report.series.map((s) => {
      const calls = { total: 0, ok: 0, rate_limited: 0, quota_exceeded: 0, rejected: 0, upstream_error: 0 };
      for (const p of s.points) for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] += p.calls[k];
      return { group: s.group ?? '(all)', ...calls };
    });
    if (rows.length === 0) return out(`no MCP calls on gateway "${flags.gateway}" in the last ${flags.hours} hours`);
    out(
      formatTable(rows, [
        { header: flags.groupBy ?? 'scope', value: (r) => (r.group === '' ? '(none)' : r.group) },
        { header: 'calls', value: (r) => r.total },
        { header: 'ok', value: (r) => r.ok },
        { header: 'rate limited', value: (r) => r.rate_limited },
        { header: 'quota', value: (r) => r.quota_exceeded },
        { header: 'refused', value: (r) => r.rejected },
        { header: 'upstream error', value: (r) => r.upstream_error },
      ]),
    );
  });
}
