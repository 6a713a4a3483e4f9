import { Option, type Command } from 'commander';
import type { DeploymentView, InstanceView, ResourceView } from '../../controlplane/api-types.js';
import { PROVIDERS } from '../../domain/model.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { intOption } from '../options.js';
import { cell, formatTable, out, printJson, printList, when } from '../output.js';
import { BACKEND_COLUMNS, backendFields, backendOptions, mergesPolicies, type BackendFlags } from './deployment-backends.js';
import { ADMIN_GROUP, connect, keyValue, MAX_TOKENS, orNull, tokensOrNone, withConnection, type ConnectionFlags } from './common.js';
import { pricingOption } from './cost-options.js';

export function registerInstanceCommands(program: Command): void {
  const instances = program
    .command('instances')
    .helpGroup(ADMIN_GROUP)
    .description('manage instances: pools of gateway nodes (`tollgate serve --instance`), each backing at most one gateway');

  withConnection(instances.command('list').description('list instances and the gateway each backs')).action(async (flags: ConnectionFlags) => {
    const body = await connect(flags).get<ListBody<InstanceView>>('/instances');
    printList(
      flags.json,
      body,
      [
        { header: 'name', value: (i) => i.name },
        { header: 'gateway', value: (i) => i.gateway },
        { header: 'created', value: (i) => when(i.createdAt) },
      ],
      'no instances yet — create one with: tollgate instances create <name> (or let tollgate gateways create make one)',
    );
  });

  withConnection(instances.command('create').argument('<name>', 'instance name').description('create an instance for a gateway to run on')).action(
    async (name: string, flags: ConnectionFlags) => {
      const created = await connect(flags).post<InstanceView>('/instances', { name });
      if (flags.json) printJson(created);
      else out(`created instance "${created.name}"`);
    },
  );

  withConnection(instances.command('delete').argument('<name>', 'instance name').description('delete an instance that backs no gateway')).action(
    async (name: string, flags: ConnectionFlags) => {
      await connect(flags).delete(apiPath`/instances/${name}`);
      if (!flags.json) out(`deleted instance "${name}"`);
    },
  );
}

export function registerResourceCommands(program: Command): void {
  const resources = program
    .command('resources')
    .helpGroup(ADMIN_GROUP)
    .description('manage resources: groups of deployments and projects, governed by at most one gateway');

  withConnection(resources.command('list').description('list resources')).action(async (flags: ConnectionFlags) => {
    const body = await connect(flags).get<ListBody<ResourceView>>('/resources');
    printList(
      flags.json,
      body,
      [
        { header: 'name', value: (r) => r.name },
        { header: 'created', value: (r) => when(r.createdAt) },
        { header: 'description', value: (r) => r.description },
      ],
      'no resources yet — create one with: tollgate resources create <name> [--description <text>]',
    );
  });

  withConnection(
    resources.command('create').argument('<name>', 'resource name').description('create a resource').option('--description <text>', 'what it is for'),
  ).action(async (name: string, flags: ConnectionFlags & { description?: string }) => {
    const created = await connect(flags).post<ResourceView>('/resources', { name, description: flags.description ?? null });
    if (flags.json) printJson(created);
    else out(`created resource "${created.name}"`);
  });

  withConnection(
    resources
      .command('update')
      .argument('<name>', 'resource name')
      .description("change a resource's description")
      .requiredOption('--description <text>', 'the new description ("" clears it)'),
  ).action(async (name: string, flags: ConnectionFlags & { description: string }) => {
    const updated = await connect(flags).patch<ResourceView>(apiPath`/resources/${name}`, { description: flags.description || null });
    if (flags.json) printJson(updated);
    else out(`updated resource "${updated.name}"`);
  });

  withConnection(resources.command('delete').argument('<name>', 'resource name').description('delete a resource (its gateway must be deleted first)')).action(
    async (name: string, flags: ConnectionFlags) => {
      await connect(flags).delete(apiPath`/resources/${name}`);
      if (!flags.json) out(`deleted resource "${name}"`);
    },
  );
}

interface DeploymentFlags extends ConnectionFlags, BackendFlags {
  resource: string;
  pricing?: ReturnType<typeof pricingOption>;
  provider?: string;
  upstreamUrl?: string;
  upstreamModel?: string;
  upstreamApiKey?: string;
  apiVersion?: string;
  defaultCompletionReservation?: number | 'none';
  option?: Record<string, unknown>;
}

/** The flags create and update share; update lets each be left out. */
function deploymentFlags(cmd: Command, mode: 'create' | 'update'): Command {
  const reservation =
    mode === 'create'
      ? new Option('--default-completion-reservation <n>', 'tokens reserved for the completion when a request sets no max_tokens').argParser(
          intOption('--default-completion-reservation', 1, MAX_TOKENS),
        )
      : new Option('--default-completion-reservation <n|none>', 'tokens reserved for the completion when a request sets no max_tokens, or none').argParser(
          tokensOrNone('--default-completion-reservation'),
        );
  cmd
    .requiredOption('-r, --resource <name>', 'the resource the deployment belongs to')
    .option('--upstream-url <url>', 'base URL of the upstream API (openai-compatible, azure-openai; optional for openai, anthropic)')
    .option('--upstream-model <model>', 'model name sent upstream (default: the deployment name)')
    .option('--upstream-api-key <key>', 'upstream credential, stored sealed and never shown again ("" clears it on update)')
    .option('--api-version <version>', 'api-version for azure-openai')
    .addOption(reservation)
    .option('-o, --option <key=value>', 'provider option, repeatable; the value is JSON when it parses (latencyMs=0)', keyValue)
    .option(
      '--pricing <prices>',
      `prices per million tokens: CUR:input/output[/cachedInput[/cacheWrite]] (USD:2.5/10/1.25), "catalog" (the built-in prices of the upstream model)${mode === 'update' ? ' or "none"' : ''}`,
      pricingOption,
    );
  return backendOptions(cmd, mode);
}

/** Only the flags given, so an update changes nothing else. */
function deploymentFields(flags: DeploymentFlags): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    provider: flags.provider,
    upstreamUrl: flags.upstreamUrl,
    upstreamModel: flags.upstreamModel,
    upstreamApiKey: flags.upstreamApiKey,
    apiVersion: flags.apiVersion,
    defaultCompletionReservation: orNull(flags.defaultCompletionReservation),
    pricing: orNull(flags.pricing),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

export function registerDeploymentCommands(program: Command): void {
  const deployments = program.command('deployments').helpGroup(ADMIN_GROUP).description("manage a resource's deployments: the models it offers and where they run");
  const providerOption = () => new Option('--provider <provider>', 'where requests go').choices(PROVIDERS);

  withConnection(
    deployments.command('list').description("list a resource's deployments").requiredOption('-r, --resource <name>', 'the resource'),
  ).action(async (flags: ConnectionFlags & { resource: string }) => {
    const body = await connect(flags).get<ListBody<DeploymentView>>(apiPath`/resources/${flags.resource}/deployments`);
    printList(
      flags.json,
      body,
      [
        { header: 'name', value: (d) => d.name },
        { header: 'provider', value: (d) => d.provider },
        { header: 'model', value: (d) => d.upstreamModel },
        { header: 'url', value: (d) => d.upstreamUrl ?? (d.backends ? `${d.backends.length} backends` : null) },
        { header: 'api-key', value: (d) => (d.hasUpstreamApiKey ? 'set' : null) },
        { header: 'options', value: (d) => (Object.keys(d.options).length > 0 ? d.options : null) },
      ],
      `no deployments in resource "${flags.resource}" yet — create one with: tollgate deployments create <name> --resource ${flags.resource} --provider <${PROVIDERS.join('|')}>`,
    );
  });

  withConnection(
    deploymentFlags(
      deployments
        .command('create')
        .argument('<name>', 'deployment name: the model name clients send')
        .description('create a deployment in a resource')
        .addOption(providerOption().makeOptionMandatory()),
      'create',
    ),
  ).action(async (name: string, flags: DeploymentFlags) => {
    const created = await connect(flags).post<DeploymentView>(apiPath`/resources/${flags.resource}/deployments`, {
      name,
      ...deploymentFields(flags),
      ...backendFields(flags),
      ...(flags.option ? { options: flags.option } : {}),
    });
    if (flags.json) printJson(created);
    else out(`created deployment "${created.name}" (${created.provider}) in resource "${created.resource}"`);
  });

  withConnection(
    deploymentFlags(
      deployments
        .command('update')
        .argument('<name>', 'deployment name')
        .description('change a deployment; flags not given keep their value, --option entries merge into the current options (key=null removes one)')
        .addOption(providerOption()),
      'update',
    ),
  ).action(async (name: string, flags: DeploymentFlags) => {
    const api = connect(flags);
    const path = apiPath`/resources/${flags.resource}/deployments/${name}`;
    // The API replaces options, retry and circuitBreaker as a whole; merging here keeps
    // `--option a=1` from dropping b, and `--breaker-trip 10` from resetting the failure count.
    const current = flags.option || mergesPolicies(flags) ? await api.get<DeploymentView>(path) : undefined;
    const patch = { ...deploymentFields(flags), ...backendFields(flags, current) };
    if (flags.option && current) {
      const merged: Record<string, unknown> = { ...current.options, ...flags.option };
      for (const [key, value] of Object.entries(flags.option)) if (value === null) delete merged[key];
      patch.options = merged;
    }
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: pass at least one flag (see tollgate deployments update --help)');
    const updated = await api.patch<DeploymentView>(path, patch);
    if (flags.json) printJson(updated);
    else out(`updated deployment "${updated.name}" in resource "${updated.resource}"`);
  });

  withConnection(
    deployments
      .command('show')
      .argument('<name>', 'deployment name')
      .description('show a deployment with its backends, retry and circuit breaker settings (keys are never shown)')
      .requiredOption('-r, --resource <name>', 'the resource'),
  ).action(async (name: string, flags: ConnectionFlags & { resource: string }) => {
    const d = await connect(flags).get<DeploymentView>(apiPath`/resources/${flags.resource}/deployments/${name}`);
    if (flags.json) return printJson(d);
    const lines: [string, unknown][] = [
      ['name', d.name],
      ['resource', d.resource],
      ['provider', d.provider],
      ['model', d.upstreamModel],
      ['api-version', d.apiVersion],
      ['default completion reservation', d.defaultCompletionReservation],
      ['options', Object.keys(d.options).length > 0 ? d.options : null],
    ];
    if (!d.backends) lines.push(['url', d.upstreamUrl], ['api-key', d.hasUpstreamApiKey ? 'set' : 'not set']);
    else lines.push(['retry', d.retry ?? 'defaults'], ['circuit breaker', d.circuitBreaker ?? 'defaults']);
    out(lines.map(([label, value]) => `${`${label}:`.padEnd(32)}${cell(value)}`).join('\n'));
    if (d.backends) out(`\n${formatTable(d.backends, BACKEND_COLUMNS)}`);
  });

  withConnection(
    deployments.command('delete').argument('<name>', 'deployment name').description('delete a deployment').requiredOption('-r, --resource <name>', 'the resource'),
  ).action(async (name: string, flags: ConnectionFlags & { resource: string }) => {
    await connect(flags).delete(apiPath`/resources/${flags.resource}/deployments/${name}`);
    if (!flags.json) out(`deleted deployment "${name}" from resource "${flags.resource}"`);
  });
}
