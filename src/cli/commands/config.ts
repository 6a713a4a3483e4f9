import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { configToYaml, readConfigDocument } from '../../controlplane/config/config-file.js';
import type { ApplyResult } from '../../controlplane/config/config-service.js';
import type { ConfigDocument } from '../../controlplane/config/document.js';
import type { ConfigChange } from '../../controlplane/config/plan.js';
import { err, out, printJson } from '../output.js';
import { ADMIN_GROUP, connect, withConnection, type ConnectionFlags } from './common.js';

const SIGNS: Record<string, string> = { create: '+', enable: '+', update: '~', delete: '-', disable: '-' };

export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .helpGroup(ADMIN_GROUP)
    .description('the whole configuration as one declarative file (YAML or JSON): export it, apply it');

  withConnection(
    config
      .command('export')
      .description('print the current configuration as a config file (upstream keys are never exported)')
      .option('-o, --output <file>', 'write it to a file instead of printing it'),
  ).action(async (flags: ConnectionFlags & { output?: string }) => {
    const doc = await connect(flags).get<ConfigDocument>('/config');
    const text = flags.json ? `${JSON.stringify(doc, null, 2)}\n` : configToYaml(doc);
    if (flags.output) {
      await writeFile(flags.output, text);
      err(`wrote ${flags.output}`);
    } else {
      process.stdout.write(text);
    }
  });

  withConnection(
    config
      .command('apply')
      .description('make the gateway match a config file: create and update what it names (${VAR} is read from the environment)')
      .requiredOption('-f, --file <file>', 'the config file (YAML or JSON)')
      .option('--dry-run', 'show the changes without making them')
      .option('--prune', "in the resources the file names, also delete the deployments and projects their lists leave out")
      .option('--prune-unnamed', 'also delete the gateways and resources the file does not name (of the kinds it lists): for a file that is the whole installation')
      .option('-y, --yes', 'apply changes that delete or disable without asking'),
  ).action(async (flags: ConnectionFlags & { file: string; dryRun?: boolean; prune?: boolean; pruneUnnamed?: boolean; yes?: boolean }) => {
    const doc = await readConfigDocument(flags.file, process.env);
    const client = connect(flags);
    const query = (dryRun: boolean) => `/config?dryRun=${dryRun}&prune=${flags.prune === true}&pruneUnnamed=${flags.pruneUnnamed === true}`;
    // A destructive apply is shown first and needs a yes: from the terminal, or --yes.
    if (!flags.dryRun && !flags.yes) {
      const plan = await client.put<ApplyResult>(query(true), doc);
      const destructive = plan.changes.filter(isDestructive);
      if (destructive.length > 0 && !(await confirmed(plan, destructive))) return;
    }
    const result = await client.put<ApplyResult>(query(flags.dryRun === true), doc);
    if (flags.json) {
      printJson(result);
      return;
    }
    printApplyResult(result);
  });
}

const isDestructive = (c: ConfigChange) => c.action === 'delete' || c.action === 'disable';

/** Asks on the terminal; without one, refuses with how to go on (nothing was changed either way). */
async function confirmed(plan: ApplyResult, destructive: ConfigChange[]): Promise<boolean> {
  const what = `${destructive.length} ${destructive.length === 1 ? 'change deletes or disables' : 'changes delete or disable'} something`;
  if (!process.stdin.isTTY) {
    for (const c of destructive) err(describeChange(c));
    throw new Error(`this apply makes ${plan.changes.length} change(s), and ${what} (listed above); nothing was changed. Pass --yes to apply it without asking, or --dry-run to see the whole plan`);
  }
  printChanges(plan.changes);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`\n${what}. Apply these ${plan.changes.length} change(s)? [y/N] `);
    if (/^y(es)?$/i.test(answer.trim())) return true;
  } finally {
    rl.close();
  }
  err('nothing was changed');
  return false;
}

/** A value as a plan line shows it. */
const shown = (value: unknown): string => (value === null || value === undefined ? 'none' : typeof value === 'string' ? value : JSON.stringify(value));

/** `~ update  gateways/g/limits/p/* (tokensPerMinute: 5000 → 6000)` */
function describeChange(c: ConfigChange): string {
  const keys = c.fields ?? [...new Set([...Object.keys(c.from ?? {}), ...Object.keys(c.to ?? {})])];
  const values = keys.map((k) => {
    const before = c.from && k in c.from ? shown(c.from[k]) : undefined;
    const after = c.to && k in c.to ? shown(c.to[k]) : undefined;
    if (before !== undefined && after !== undefined) return `${k}: ${before} → ${after}`;
    if (after !== undefined) return `${k}: ${after}`;
    if (before !== undefined) return `${k}: was ${before}`;
    return k;
  });
  return `${SIGNS[c.action] ?? ' '} ${c.action.padEnd(7)} ${c.target}${values.length > 0 ? ` (${values.join(', ')})` : ''}`;
}

function printChanges(changes: ConfigChange[]): void {
  for (const c of changes) out(describeChange(c));
}

function printApplyResult(result: ApplyResult): void {
  if (result.changes.length === 0) {
    out(`no changes: the gateway matches the file${result.prune ? '' : " (deployments and projects its resources' lists leave out were not checked: --prune)"}`);
    return;
  }
  printChanges(result.changes);
  const counts = new Map<string, number>();
  for (const c of result.changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const summary = [...counts].map(([action, n]) => (result.dryRun ? `${n} to ${action}` : `${n} ${pastTense(action)}`)).join(', ');
  out(result.dryRun ? `\n${summary} — dry run: nothing was changed` : `\n${summary}`);
  if (result.keys.length > 0) {
    out('\nproject keys (shown only this once; store them now):');
    for (const k of result.keys) out(`  ${k.resource}/${k.project}  primary ${k.primary}  secondary ${k.secondary}`);
  }
}

const pastTense = (action: string) => (action.endsWith('e') ? `${action}d` : `${action}ed`);
