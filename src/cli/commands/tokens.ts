import { Option, type Command } from 'commander';
import type { AdminTokenView, AuditView, CreatedAdminToken, Page } from '../../controlplane/api-types.js';
import { ROLES } from '../../domain/model.js';
import { apiPath, type ListBody } from '../admin-client.js';
import { intOption } from '../options.js';
import { err, out, printJson, printList, when } from '../output.js';
import { ADMIN_GROUP, collect, connect, withConnection, type ConnectionFlags } from './common.js';

export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .helpGroup(ADMIN_GROUP)
    .description('manage admin tokens over the API (owner only; `tollgate admin-token create` works on the data directory instead)');

  withConnection(tokens.command('list').description('list admin tokens (their hints, never the tokens)')).action(async (flags: ConnectionFlags) => {
    const body = await connect(flags).get<ListBody<AdminTokenView>>('/tokens');
    printList(
      flags.json,
      body,
      [
        { header: 'id', value: (t) => t.id },
        { header: 'name', value: (t) => t.name },
        { header: 'role', value: (t) => t.role },
        // A project-admin without resources may manage every resource's projects.
        { header: 'resources', value: (t) => (t.role === 'project-admin' && t.resources === null ? '(all)' : t.resources) },
        { header: 'hint', value: (t) => t.hint },
        { header: 'created', value: (t) => when(t.createdAt) },
      ],
      'no admin tokens — create one with: tollgate tokens create --name <name> --role <role>',
    );
  });

  withConnection(
    tokens
      .command('create')
      .description('create an admin token and print it (shown only this once)')
      .requiredOption('--name <name>', 'a name to tell the token apart')
      .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
      .option('--resource <name>', 'for project-admin: a resource whose projects it may manage, repeatable (default: all)', collect),
  ).action(async (flags: ConnectionFlags & { name: string; role: string; resource?: string[] }) => {
    if (flags.resource && flags.role !== 'project-admin') throw new Error('--resource only applies to --role project-admin');
    const created = await connect(flags).post<CreatedAdminToken>('/tokens', { name: flags.name, role: flags.role, resources: flags.resource ?? null });
    if (flags.json) printJson(created);
    else out(created.token);
    // On stderr, so `$(tollgate tokens create ...)` captures just the token.
    err(`created ${created.role} admin token "${created.name}" (id ${created.id}); it is shown only this once`);
  });

  withConnection(tokens.command('delete').argument('<id>', 'token id (see tollgate tokens list)').description('revoke an admin token')).action(
    async (id: string, flags: ConnectionFlags) => {
      await connect(flags).delete(apiPath`/tokens/${id}`);
      if (!flags.json) out(`deleted admin token ${id}`);
    },
  );
}

export function registerAuditCommand(program: Command): void {
  withConnection(
    program
      .command('audit')
      .helpGroup(ADMIN_GROUP)
      .description('show the audit log of changes, newest first')
      .option('-n, --limit <n>', 'how many entries (1 to 500)', intOption('--limit', 1, 500), 50)
      .option('--before <cursor>', 'entries older than this cursor (printed when more remain)'),
  ).action(async (flags: ConnectionFlags & { limit: number; before?: string }) => {
    const query = new URLSearchParams({ limit: String(flags.limit), ...(flags.before ? { cursor: flags.before } : {}) });
    const body = await connect(flags).get<Page<AuditView>>(`/audit?${query}`);
    printList(
      flags.json,
      body,
      [
        { header: 'at', value: (e) => when(e.at) },
        { header: 'actor', value: (e) => e.actor },
        { header: 'action', value: (e) => e.action },
        { header: 'target', value: (e) => e.target },
        { header: 'change', value: (e) => describeAuditChange(e) },
      ],
      'no audit entries',
    );
    if (!flags.json && body.nextCursor) err(`more entries: tollgate audit --before ${body.nextCursor}`);
  });
}

const shown = (value: unknown): string => (value === undefined ? '-' : value === null ? 'none' : typeof value === 'string' ? value : JSON.stringify(value));

/** What an audit entry changed, old → new: `tokensPerMinute 5000 → 6000; quotaPeriod none → daily`. */
export function describeAuditChange(e: Pick<AuditView, 'detail' | 'previous'>): string {
  const keys = [...new Set([...Object.keys(e.previous ?? {}), ...Object.keys(e.detail ?? {})])];
  return keys
    .map((k) => {
      const before = e.previous ? shown(e.previous[k]) : undefined;
      const after = e.detail && k in e.detail ? shown(e.detail[k]) : undefined;
      if (before === undefined) return `${k} ${after}`;
      if (after === undefined) return `${k} was ${before}`;
      return `${k} ${before} → ${after}`;
    })
    .join('; ');
}
