import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { configToYaml, readConfigFile } from '../../controlplane/config/config-file.js';
import type { ApplyResult } from '../../controlplane/config/config-service.js';
import type { ConfigDocument } from '../../controlplane/config/document.js';
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
      .option('--prune', 'also delete (or disable) what the file does not name'),
  ).action(async (flags: ConnectionFlags & { file: string; dryRun?: boolean; prune?: boolean }) => {
    const doc = await readConfigFile(flags.file, process.env);
    const query = `?dryRun=${flags.dryRun === true}&prune=${flags.prune === true}`;
    const result = await connect(flags).put<ApplyResult>(`/config${query}`, doc);
    if (flags.json) {
      printJson(result);
      return;
    }
    printApplyResult(result);
  });
}

function printApplyResult(result: ApplyResult): void {
  if (result.changes.length === 0) {
    out(`no changes: the gateway matches the file${result.prune ? '' : ' (what it does not name was not checked: --prune)'}`);
    return;
  }
  for (const c of result.changes) {
    out(`${SIGNS[c.action] ?? ' '} ${c.action.padEnd(7)} ${c.target}${c.fields ? ` (${c.fields.join(', ')})` : ''}`);
  }
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
