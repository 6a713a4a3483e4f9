import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { registerServeCommands } from './serve-commands.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('tollgate')
    .description('Tollgate: a self-hosted AI gateway with per-project token limits and quotas')
    .version(VERSION)
    .exitOverride();
  registerServeCommands(program);
  registerAdminCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the reason (or the help/version asked for).
      process.exit(err.exitCode);
    }
    throw err;
  }
}
