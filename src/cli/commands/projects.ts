import { Option, type Command } from 'commander';
import type { CreatedProject, GatewayProjectView, ProjectView, RegeneratedKey } from '../../controlplane/api-types.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { err, out, printJson, printList, when } from '../output.js';
import { ADMIN_GROUP, connect, withConnection, type ConnectionFlags } from './common.js';

export function registerProjectCommands(program: Command): void {
  const projects = program
    .command('projects')
    .helpGroup(ADMIN_GROUP)
    .description("manage a resource's projects: its consumers, each with two API keys");
  const resourceFlag = (cmd: Command) => cmd.requiredOption('-r, --resource <name>', 'the resource the project belongs to');
  const gatewayFlag = (cmd: Command) => cmd.requiredOption('-g, --gateway <name>', "the gateway governing the project's resource");

  withConnection(resourceFlag(projects.command('list').description("list a resource's projects"))).action(
    async (flags: ConnectionFlags & { resource: string }) => {
      const body = await connect(flags).get<ListBody<ProjectView>>(apiPath`/resources/${flags.resource}/projects`);
      printList(
        flags.json,
        body,
        [
          { header: 'name', value: (p) => p.name },
          { header: 'gateway', value: (p) => p.gatewayStatus },
          { header: 'primary', value: (p) => p.keyHints.primary },
          { header: 'secondary', value: (p) => p.keyHints.secondary },
          { header: 'created', value: (p) => when(p.createdAt) },
        ],
        `no projects in resource "${flags.resource}" yet — create one with: tollgate projects create <name> --resource ${flags.resource}`,
      );
    },
  );

  withConnection(
    resourceFlag(projects.command('create').argument('<name>', 'project name').description('create a project and print its two API keys (shown only this once)')),
  ).action(async (name: string, flags: ConnectionFlags & { resource: string }) => {
    const created = await connect(flags).post<CreatedProject>(apiPath`/resources/${flags.resource}/projects`, { name });
    if (flags.json) {
      printJson(created);
      err('the keys are shown only this once: store them now');
      return;
    }
    out(
      [
        `created project "${created.name}" in resource "${created.resource}" (gateway status: ${created.gatewayStatus})`,
        `primary key:   ${created.keys.primary}`,
        `secondary key: ${created.keys.secondary}`,
        'These keys are shown only this once: store them now. (`tollgate keys regenerate` issues new ones.)',
      ].join('\n'),
    );
    if (created.gatewayStatus === 'disabled') {
      out(`The resource has no gateway yet; once it has one, enable the project with: tollgate projects add-to-gateway ${created.name} --gateway <gateway>`);
    }
  });

  withConnection(resourceFlag(projects.command('delete').argument('<name>', 'project name').description('delete a project; its keys stop working'))).action(
    async (name: string, flags: ConnectionFlags & { resource: string }) => {
      await connect(flags).delete(apiPath`/resources/${flags.resource}/projects/${name}`);
      if (!flags.json) out(`deleted project "${name}" from resource "${flags.resource}"`);
    },
  );

  withConnection(
    gatewayFlag(projects.command('add-to-gateway').argument('<project>', 'project name').description('enable a project on the gateway of its resource')),
  ).action(async (project: string, flags: ConnectionFlags & { gateway: string }) => {
    const result = await connect(flags).put<GatewayProjectView>(apiPath`/gateways/${flags.gateway}/projects/${project}`);
    if (flags.json) printJson(result);
    else out(`project "${result.name}" is ${result.gatewayStatus} on gateway "${flags.gateway}"`);
  });

  withConnection(
    gatewayFlag(projects.command('disable').argument('<project>', 'project name').description("disable a project on a gateway; its keys are refused until it is added again")),
  ).action(async (project: string, flags: ConnectionFlags & { gateway: string }) => {
    const result = await connect(flags).delete<GatewayProjectView>(apiPath`/gateways/${flags.gateway}/projects/${project}`);
    if (flags.json) printJson(result);
    else out(`project "${result.name}" is ${result.gatewayStatus} on gateway "${flags.gateway}"`);
  });
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').helpGroup(ADMIN_GROUP).description('regenerate project API keys (two slots, so clients rotate without downtime)');

  withConnection(
    keys
      .command('regenerate')
      .argument('<project>', 'project name')
      .description('replace the key in one slot and print the new key (shown only this once); the other slot keeps working')
      .requiredOption('-r, --resource <name>', 'the resource the project belongs to')
      .addOption(new Option('--slot <slot>', 'which key to replace').choices(['primary', 'secondary']).default('primary')),
  ).action(async (project: string, flags: ConnectionFlags & { resource: string; slot: string }) => {
    const result = await connect(flags).post<RegeneratedKey>(apiPath`/resources/${flags.resource}/projects/${project}/keys/${flags.slot}/regenerate`);
    if (flags.json) printJson(result);
    else out(result.key);
    // On stderr, so `$(tollgate keys regenerate ...)` captures just the key.
    err(`new ${result.slot} key for project "${result.name}" in resource "${result.resource}"; it is shown only this once`);
  });
}
