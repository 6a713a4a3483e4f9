import type { Command } from 'commander';
import { registerGatewayCommands, registerLimitCommands } from './commands/gateways.js';
import { registerKeyCommands, registerProjectCommands } from './commands/projects.js';
import { registerDeploymentCommands, registerInstanceCommands, registerResourceCommands } from './commands/resources.js';
import { registerAuditCommand, registerTokenCommands } from './commands/tokens.js';
import { registerUsageCommands } from './commands/usage.js';
import { registerNodeCommands } from './commands/nodes.js';
import { registerConfigCommands } from './commands/config.js';
import { registerAgentCommands } from './commands/agents.js';
import { registerMcpCommands } from './commands/mcp.js';

/**
 * Admin commands: a client of a running gateway's REST API (/admin/v1), unlike the serve commands,
 * which work on the data directory. Each takes --url, --token and --json (see commands/common.ts).
 */
export function registerAdminCommands(program: Command): void {
  registerInstanceCommands(program);
  registerNodeCommands(program);
  registerResourceCommands(program);
  registerDeploymentCommands(program);
  registerProjectCommands(program);
  registerKeyCommands(program);
  registerGatewayCommands(program);
  registerLimitCommands(program);
  registerUsageCommands(program);
  registerTokenCommands(program);
  registerAuditCommand(program);
  registerConfigCommands(program);
  registerAgentCommands(program);
  registerMcpCommands(program);
}
