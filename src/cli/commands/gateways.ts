import { Option, type Command } from 'commander';
import type { ArchivedGatewayView, GatewayProjectView, GatewayView, LimitView } from '../../controlplane/api-types.js';
import { QUOTA_PERIODS } from '../../domain/model.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { intOption } from '../options.js';
import { err, formatTable, out, printJson, printList, when, type Column } from '../output.js';
import { ADMIN_GROUP, connect, MAX_TOKENS, orNull, tokensOrNone, withConnection, type ConnectionFlags } from './common.js';
import { budgetOption, budgetText } from './cost-options.js';
import {
  addGatewaySettingOptions,
  describeGatewaySettings,
  describeProjectLimit,
  gatewaySettingsOf,
  type GatewaySettingFlags,
} from './gateway-settings.js';

export function registerGatewayCommands(program: Command): void {
  const gateways = program
    .command('gateways')
    .helpGroup(ADMIN_GROUP)
    .description('manage gateways: each governs one resource and is served by the nodes of one instance');

  withConnection(
    gateways
      .command('list')
      .description('list gateways; --archived: the deleted ones, whose usage and logs stay (by id)')
      .option('--archived', 'list deleted gateways instead'),
  ).action(async (flags: ConnectionFlags & { archived?: boolean }) => {
    if (flags.archived) {
      const archived = await connect(flags).get<ListBody<ArchivedGatewayView>>('/gateways?archived=true');
      return printList(
        flags.json,
        archived,
        [
          { header: 'id', value: (g) => g.id },
          { header: 'name', value: (g) => g.name },
          { header: 'resource', value: (g) => g.resource },
          { header: 'created', value: (g) => when(g.createdAt) },
          { header: 'deleted', value: (g) => when(g.deletedAt) },
        ],
        'no deleted gateways',
      );
    }
    const body = await connect(flags).get<ListBody<GatewayView>>('/gateways');
    printList(
      flags.json,
      body,
      [
        { header: 'name', value: (g) => g.name },
        { header: 'resource', value: (g) => g.resource },
        { header: 'instance', value: (g) => g.instance },
        { header: 'status', value: (g) => g.status },
        { header: 'created', value: (g) => when(g.createdAt) },
      ],
      'no gateways yet — create one with: tollgate gateways create <name> --resource <resource> [--instance <instance>]',
    );
  });

  withConnection(
    addGatewaySettingOptions(
      gateways
        .command('create')
        .argument('<name>', 'gateway name')
        .description('create the gateway of a resource, on an existing instance or a new one')
        .requiredOption('-r, --resource <name>', 'the resource it governs (at most one gateway per resource)')
        .option('-i, --instance <name>', 'an existing, unused instance to run on (default: a new instance named after the gateway)'),
    ),
  ).action(async (name: string, flags: ConnectionFlags & GatewaySettingFlags & { resource: string; instance?: string }) => {
    const instance = flags.instance ? { mode: 'existing', name: flags.instance } : { mode: 'new' };
    const created = await connect(flags).post<GatewayView>('/gateways', { name, resource: flags.resource, instance, ...gatewaySettingsOf(flags) });
    if (flags.json) printJson(created);
    else out(`created gateway "${created.name}" for resource "${created.resource}" on ${flags.instance ? '' : 'new '}instance "${created.instance}"`);
  });

  withConnection(
    addGatewaySettingOptions(
      gateways
        .command('update')
        .argument('<name>', 'gateway name')
        .description("change a gateway's settings; flags not given keep their value")
        .addOption(
          new Option('--log-content <on|off>', 'keep the prompts and completions of new requests in the request log (tollgate logs --json)').choices(['on', 'off']),
        ),
    ),
  ).action(async (name: string, flags: ConnectionFlags & GatewaySettingFlags & { logContent?: 'on' | 'off' }) => {
    const settings = gatewaySettingsOf(flags);
    const patch = { ...(flags.logContent === undefined ? {} : { logContent: flags.logContent === 'on' }), ...settings };
    if (Object.keys(patch).length === 0) {
      throw new Error('nothing to update: pass --log-content on|off, --default-tpm, --default-quota, --default-quota-period, --no-default-limit, --cors-origin or --no-cors');
    }
    const updated = await connect(flags).patch<GatewayView>(apiPath`/gateways/${name}`, patch);
    if (flags.json) printJson(updated);
    else if (Object.keys(settings).length > 0) out(describeGatewaySettings(updated));
    else if (updated.logContent) out(`gateway "${updated.name}" now keeps the prompts and completions of new requests in its request log`);
    else out(`gateway "${updated.name}" no longer keeps prompts and completions in its request log`);
  });

  withConnection(gateways.command('show').argument('<name>', 'gateway name').description("a gateway's status and settings")).action(
    async (name: string, flags: ConnectionFlags) => {
      const gateway = await connect(flags).get<GatewayView>(apiPath`/gateways/${name}`);
      if (flags.json) printJson(gateway);
      else out(`${describeGatewaySettings(gateway)}\n  resource ${gateway.resource}, instance ${gateway.instance}, ${gateway.status}`);
    },
  );

  withConnection(
    gateways
      .command('delete')
      .argument('<name>', 'gateway name')
      .description('delete a gateway (its projects must be disabled first, or pass --disable-projects)')
      .option('--disable-projects', 'disable every enabled project of the gateway and delete it, in one step'),
  ).action(async (name: string, flags: ConnectionFlags & { disableProjects?: boolean }) => {
    const client = connect(flags);
    const enabled = flags.disableProjects
      ? (await client.get<ListBody<GatewayProjectView>>(apiPath`/gateways/${name}/projects`)).items.filter((p) => p.gatewayStatus === 'enabled').map((p) => p.name)
      : [];
    await client.delete(`${apiPath`/gateways/${name}`}${flags.disableProjects ? '?disableProjects=true' : ''}`);
    if (!flags.json) out(`deleted gateway "${name}"${enabled.length > 0 ? ` and disabled its projects ${enabled.map((p) => `"${p}"`).join(', ')}` : ''}`);
  });

  withConnection(
    gateways
      .command('projects')
      .argument('<name>', 'gateway name')
      .description("list the projects of a gateway's resource, whether each is enabled, and the project-wide limit it runs under"),
  ).action(
    async (name: string, flags: ConnectionFlags) => {
      const body = await connect(flags).get<ListBody<GatewayProjectView>>(apiPath`/gateways/${name}/projects`);
      printList(
        flags.json,
        body,
        [
          { header: 'project', value: (p) => p.name },
          { header: 'status', value: (p) => p.gatewayStatus },
          { header: 'limit', value: (p) => describeProjectLimit(p.limit) },
        ],
        `no projects in the resource of gateway "${name}" yet — create one with: tollgate projects create <name> --resource <resource>`,
      );
    },
  );
}

const limitColumns: Column<LimitView>[] = [
  { header: 'id', value: (l) => l.id },
  { header: 'project', value: (l) => l.project },
  { header: 'deployment', value: (l) => l.deployment ?? '(all)' },
  { header: 'tpm', value: (l) => l.tokensPerMinute },
  { header: 'quota', value: (l) => l.tokenQuota },
  { header: 'period', value: (l) => l.quotaPeriod },
];

/** The limit columns, with the budget when any limit shown has one. */
const limitColumnsOf = (limits: readonly LimitView[]): Column<LimitView>[] =>
  limits.some((l) => l.budget) ? [...limitColumns, { header: 'budget', value: (l) => budgetText(l.budget) }] : limitColumns;

interface LimitFlags extends ConnectionFlags {
  gateway: string;
  tpm?: number | 'none';
  quota?: number | 'none';
  period?: string;
  budget?: ReturnType<typeof budgetOption>;
}

export function registerLimitCommands(program: Command): void {
  const limits = program
    .command('limits')
    .helpGroup(ADMIN_GROUP)
    .description("manage a gateway's limits: a project's tokens per minute and token quota, for one deployment or all");
  const gatewayFlag = (cmd: Command) => cmd.requiredOption('-g, --gateway <name>', 'the gateway');
  const show = (flags: ConnectionFlags, limit: LimitView) => {
    if (flags.json) printJson(limit);
    else out(formatTable([limit], limitColumnsOf([limit])));
    // On stderr: a script reading stdout gets the limit, a person sees what it means for clients.
    for (const warning of limit.warnings ?? []) err(`warning: ${warning}`);
  };

  withConnection(gatewayFlag(limits.command('list').description("list a gateway's limits"))).action(async (flags: LimitFlags) => {
    const body = await connect(flags).get<ListBody<LimitView>>(apiPath`/gateways/${flags.gateway}/limits`);
    printList(
      flags.json,
      body,
      limitColumnsOf(body.items),
      `no limits on gateway "${flags.gateway}" yet — create one with: tollgate limits create --gateway ${flags.gateway} --project <project> --tpm <n>`,
    );
  });

  withConnection(
    gatewayFlag(limits.command('create').description('create a limit; give --tpm, --quota with --period, --budget, or several'))
      .requiredOption('--project <name>', 'the project it limits')
      .option('--deployment <name>', 'limit only this deployment (default: all deployments together)')
      .option('--tpm <n>', 'tokens per minute', intOption('--tpm', 1, MAX_TOKENS))
      .option('--quota <n>', 'tokens per quota period', intOption('--quota', 1, MAX_TOKENS))
      .addOption(new Option('--period <period>', 'the quota period').choices(QUOTA_PERIODS))
      .option('--budget <budget>', 'a money budget: AMOUNT CUR/PERIOD, e.g. "25 USD/monthly" (docs/cost.md)', budgetOption),
  ).action(async (flags: LimitFlags & { project: string; deployment?: string }) => {
    const created = await connect(flags).post<LimitView>(apiPath`/gateways/${flags.gateway}/limits`, {
      project: flags.project,
      deployment: flags.deployment ?? null,
      tokensPerMinute: orNull(flags.tpm) ?? null,
      tokenQuota: orNull(flags.quota) ?? null,
      quotaPeriod: flags.period ?? null,
      ...(flags.budget && flags.budget !== 'none' ? { budget: flags.budget } : {}),
    });
    show(flags, created);
  });

  withConnection(
    scopeFlags(gatewayFlag(limits.command('update').argument('[id]', 'limit id (see tollgate limits list), or name it by --project [--deployment]').description('change a limit; flags not given keep their value')))
      .option('--tpm <n|none>', 'tokens per minute, or none', tokensOrNone('--tpm'))
      .option('--quota <n|none>', 'tokens per quota period, or none (clears the period too)', tokensOrNone('--quota'))
      .addOption(new Option('--period <period|none>', 'the quota period, or none').choices([...QUOTA_PERIODS, 'none']))
      .option('--budget <budget|none>', 'a money budget: AMOUNT CUR/PERIOD, e.g. "25 USD/monthly", or none', budgetOption),
  ).action(async (id: string | undefined, flags: LimitFlags & ScopeFlags) => {
    const patch = Object.fromEntries(
      Object.entries({
        tokensPerMinute: orNull(flags.tpm),
        tokenQuota: orNull(flags.quota),
        quotaPeriod: orNull(flags.period),
        budget: orNull(flags.budget),
      }).filter(([, v]) => v !== undefined),
    );
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass --tpm, --quota, --period or --budget');
    show(flags, await connect(flags).patch<LimitView>(limitPath(flags, id), patch));
  });

  withConnection(
    scopeFlags(gatewayFlag(limits.command('delete').argument('[id]', 'limit id, or name it by --project [--deployment]').description('delete a limit'))),
  ).action(async (id: string | undefined, flags: LimitFlags & ScopeFlags) => {
    await connect(flags).delete(limitPath(flags, id));
    if (!flags.json) out(`deleted limit ${id ?? describeScope(flags)} from gateway "${flags.gateway}"`);
  });

  withConnection(
    scopeFlags(gatewayFlag(limits.command('show').argument('[id]', 'limit id, or name it by --project [--deployment]').description('show one limit'))),
  ).action(async (id: string | undefined, flags: LimitFlags & ScopeFlags) => {
    show(flags, await connect(flags).get<LimitView>(limitPath(flags, id)));
  });
}

interface ScopeFlags {
  project?: string;
  deployment?: string;
}

/** A limit is named by its id, or by what it caps: a project's limit for all deployments, or for one. */
const scopeFlags = (cmd: Command) =>
  cmd
    .option('--project <name>', "instead of an id: the project's limit (for all deployments, unless --deployment)")
    .option('--deployment <name>', "with --project: the project's limit for this deployment");

function limitPath(flags: LimitFlags & ScopeFlags, id: string | undefined): string {
  if (id !== undefined) {
    if (flags.project !== undefined) throw new Error('name the limit by its id or by --project, not both');
    return apiPath`/gateways/${flags.gateway}/limits/${id}`;
  }
  if (flags.project === undefined) throw new Error('name the limit: its id (tollgate limits list), or --project <name> [--deployment <name>]');
  return flags.deployment === undefined
    ? apiPath`/gateways/${flags.gateway}/projects/${flags.project}/limit`
    : apiPath`/gateways/${flags.gateway}/projects/${flags.project}/deployments/${flags.deployment}/limit`;
}

const describeScope = (flags: ScopeFlags) => `of project "${flags.project}" for ${flags.deployment === undefined ? 'all deployments' : `deployment "${flags.deployment}"`}`;
