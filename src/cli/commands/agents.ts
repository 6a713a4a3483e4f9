import { Option, type Command } from 'commander';
import type { AgentLimitView, AgentLogPage, AgentView } from '../../controlplane/api-types.js';
import { QUOTA_PERIODS } from '../../domain/model.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { intOption } from '../options.js';
import { formatTable, out, printJson, printList, type Column } from '../output.js';
import { ADMIN_GROUP, connect, MAX_TOKENS, orNull, tokensOrNone, withConnection, type ConnectionFlags } from './common.js';

const agentColumns: Column<AgentView>[] = [
  { header: 'name', value: (a) => a.name },
  { header: 'protocol', value: (a) => a.protocol },
  { header: 'status', value: (a) => a.status },
  { header: 'project', value: (a) => a.project },
  { header: 'granted', value: (a) => a.projects.join(', ') },
  { header: 'proxy url', value: (a) => a.proxyUrl },
  { header: 'agent url', value: (a) => a.url },
];

const limitColumns: Column<AgentLimitView>[] = [
  { header: 'id', value: (l) => l.id },
  { header: 'agent', value: (l) => l.agent },
  { header: 'project', value: (l) => l.project },
  { header: 'rpm', value: (l) => l.requestsPerMinute },
  { header: 'quota', value: (l) => l.requestQuota },
  { header: 'period', value: (l) => l.quotaPeriod },
];

interface GatewayFlags extends ConnectionFlags {
  gateway: string;
}
interface AgentFlags extends GatewayFlags {
  project?: string;
  protocol?: 'http' | 'a2a';
  cardUrl?: string;
  otelAgentId?: string;
  portalUrl?: string;
  description?: string;
}

/** `tollgate agents …` and `tollgate agent-limits …`: custom agents of a gateway (docs/agents.md). */
export function registerAgentCommands(program: Command): void {
  const gatewayFlag = (cmd: Command) => cmd.requiredOption('-g, --gateway <name>', 'the gateway');
  const show = (flags: ConnectionFlags, agent: AgentView) => (flags.json ? printJson(agent) : out(formatTable([agent], agentColumns)));
  const agents = program.command('agents').helpGroup(ADMIN_GROUP).description('manage custom HTTP and A2A agents: register, grant, block, unblock, logs');

  withConnection(gatewayFlag(agents.command('list').description("list a gateway's agents with their status and proxy URL"))).action(async (flags: GatewayFlags) => {
    const body = await connect(flags).get<ListBody<AgentView>>(apiPath`/gateways/${flags.gateway}/agents`);
    printList(flags.json, body, agentColumns, `no agents on gateway "${flags.gateway}" yet — register one with: tollgate agents create <name> --gateway ${flags.gateway} --project <project> --agent-url <url>`);
  });

  withConnection(gatewayFlag(agents.command('get').argument('<name>', 'the agent').description('show one agent'))).action(async (name: string, flags: GatewayFlags) => {
    show(flags, await connect(flags).get<AgentView>(apiPath`/gateways/${flags.gateway}/agents/${name}`));
  });

  const fields = (cmd: Command) =>
    cmd
      .addOption(new Option('--protocol <protocol>', 'how the agent speaks').choices(['http', 'a2a']))
      .option('--card-url <url>', 'A2A: the agent card (absolute, or a path under the agent URL; default /.well-known/agent-card.json)')
      .option('--otel-agent-id <id>', 'OpenTelemetry agent id, kept on each log row')
      .option('--portal-url <url>', "the agent's admin portal")
      .option('--description <text>', 'what the agent does');
  const body = (flags: AgentFlags, url: string | undefined) =>
    Object.fromEntries(
      Object.entries({
        url,
        protocol: flags.protocol,
        agentCardUrl: flags.cardUrl,
        otelAgentId: flags.otelAgentId,
        adminPortalUrl: flags.portalUrl,
        description: flags.description,
      }).filter(([, v]) => v !== undefined),
    );

  withConnection(
    fields(
      gatewayFlag(agents.command('create').argument('<name>', 'the agent name clients use in its proxy URL').description('register an agent; prints its proxy URL'))
        .requiredOption('--project <name>', 'the owning project')
        .requiredOption('--agent-url <url>', "the agent's URL"),
    ),
  ).action(async (name: string, flags: AgentFlags & { agentUrl: string }) => {
    show(flags, await connect(flags).post<AgentView>(apiPath`/gateways/${flags.gateway}/agents`, { name, project: flags.project, ...body(flags, flags.agentUrl) }));
  });

  withConnection(
    fields(gatewayFlag(agents.command('update').argument('<name>', 'the agent').description('change an agent; flags not given keep their value')).option('--agent-url <url>', "the agent's URL")),
  ).action(async (name: string, flags: AgentFlags & { agentUrl?: string }) => {
    const patch = body(flags, flags.agentUrl);
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass --agent-url, --protocol, --card-url, --otel-agent-id, --portal-url or --description');
    show(flags, await connect(flags).patch<AgentView>(apiPath`/gateways/${flags.gateway}/agents/${name}`, patch));
  });

  withConnection(gatewayFlag(agents.command('delete').argument('<name>', 'the agent').description('unregister an agent'))).action(async (name: string, flags: GatewayFlags) => {
    await connect(flags).delete(apiPath`/gateways/${flags.gateway}/agents/${name}`);
    if (!flags.json) out(`deleted agent "${name}" from gateway "${flags.gateway}"`);
  });

  for (const action of ['block', 'unblock'] as const) {
    withConnection(
      gatewayFlag(agents.command(action).argument('<name>', 'the agent').description(action === 'block' ? 'refuse every request to the agent, on every node' : 'let requests reach the agent again')),
    ).action(async (name: string, flags: GatewayFlags) => {
      show(flags, await connect(flags).post<AgentView>(apiPath`/gateways/${flags.gateway}/agents/${name}/${action}`));
    });
  }

  withConnection(gatewayFlag(agents.command('grant').argument('<name>', 'the agent').argument('<project>', 'another project of the resource').description('let another project use the agent'))).action(
    async (name: string, project: string, flags: GatewayFlags) => show(flags, await connect(flags).put<AgentView>(apiPath`/gateways/${flags.gateway}/agents/${name}/projects/${project}`)),
  );
  withConnection(gatewayFlag(agents.command('revoke').argument('<name>', 'the agent').argument('<project>', 'a granted project').description("take a project's use of the agent back"))).action(
    async (name: string, project: string, flags: GatewayFlags) => show(flags, await connect(flags).delete<AgentView>(apiPath`/gateways/${flags.gateway}/agents/${name}/projects/${project}`)),
  );

  withConnection(
    gatewayFlag(agents.command('logs').description('recent agent requests, newest first'))
      .option('--agent <name>', 'only this agent')
      .option('--project <name>', 'only this project')
      .option('--limit <n>', 'how many', intOption('--limit', 1, 500), 50),
  ).action(async (flags: GatewayFlags & { agent?: string; project?: string; limit: number }) => {
    const query = new URLSearchParams({ kind: 'agent', limit: String(flags.limit) });
    if (flags.agent) query.set('agent', flags.agent);
    if (flags.project) query.set('project', flags.project);
    const page = await connect(flags).get<AgentLogPage>(`${apiPath`/gateways/${flags.gateway}/logs`}?${query.toString()}`);
    if (flags.json) return printJson(page);
    out(
      page.items.length === 0
        ? 'no agent requests yet'
        : formatTable(page.items, [
            { header: 'at', value: (r) => r.at },
            { header: 'agent', value: (r) => r.agent },
            { header: 'project', value: (r) => r.project },
            { header: 'method', value: (r) => r.rpcMethod ?? r.method },
            { header: 'status', value: (r) => r.status },
            { header: 'outcome', value: (r) => r.outcome },
            { header: 'ms', value: (r) => r.latencyMs },
          ]),
    );
  });

  const limits = program.command('agent-limits').helpGroup(ADMIN_GROUP).description("manage a project's requests per minute and request quota on an agent");
  const showLimit = (flags: ConnectionFlags, l: AgentLimitView) => (flags.json ? printJson(l) : out(formatTable([l], limitColumns)));
  interface LimitFlags extends GatewayFlags {
    rpm?: number | 'none';
    quota?: number | 'none';
    period?: string;
  }
  withConnection(gatewayFlag(limits.command('list').description("list a gateway's agent limits"))).action(async (flags: GatewayFlags) => {
    printList(flags.json, await connect(flags).get<ListBody<AgentLimitView>>(apiPath`/gateways/${flags.gateway}/agent-limits`), limitColumns, `no agent limits on gateway "${flags.gateway}"`);
  });
  withConnection(
    gatewayFlag(limits.command('create').description('limit a project on an agent; give --rpm, --quota with --period, or both'))
      .requiredOption('--agent <name>', 'the agent')
      .requiredOption('--project <name>', 'the project')
      .option('--rpm <n>', 'requests per minute', intOption('--rpm', 1, MAX_TOKENS))
      .option('--quota <n>', 'requests per quota period', intOption('--quota', 1, MAX_TOKENS))
      .addOption(new Option('--period <period>', 'the quota period').choices(QUOTA_PERIODS)),
  ).action(async (flags: LimitFlags & { agent: string; project: string }) => {
    showLimit(
      flags,
      await connect(flags).post<AgentLimitView>(apiPath`/gateways/${flags.gateway}/agent-limits`, {
        agent: flags.agent,
        project: flags.project,
        requestsPerMinute: orNull(flags.rpm) ?? null,
        requestQuota: orNull(flags.quota) ?? null,
        quotaPeriod: flags.period ?? null,
      }),
    );
  });
  withConnection(
    gatewayFlag(limits.command('update').argument('<id>', 'agent limit id').description('change an agent limit; flags not given keep their value'))
      .option('--rpm <n|none>', 'requests per minute, or none', tokensOrNone('--rpm'))
      .option('--quota <n|none>', 'requests per period, or none', tokensOrNone('--quota'))
      .addOption(new Option('--period <period|none>', 'the quota period, or none').choices([...QUOTA_PERIODS, 'none'])),
  ).action(async (id: string, flags: LimitFlags) => {
    const patch = Object.fromEntries(
      Object.entries({ requestsPerMinute: orNull(flags.rpm), requestQuota: orNull(flags.quota), quotaPeriod: orNull(flags.period) }).filter(([, v]) => v !== undefined),
    );
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass --rpm, --quota or --period');
    showLimit(flags, await connect(flags).patch<AgentLimitView>(apiPath`/gateways/${flags.gateway}/agent-limits/${id}`, patch));
  });
  withConnection(gatewayFlag(limits.command('delete').argument('<id>', 'agent limit id').description('delete an agent limit'))).action(async (id: string, flags: GatewayFlags) => {
    await connect(flags).delete(apiPath`/gateways/${flags.gateway}/agent-limits/${id}`);
    if (!flags.json) out(`deleted agent limit ${id} from gateway "${flags.gateway}"`);
  });
}
