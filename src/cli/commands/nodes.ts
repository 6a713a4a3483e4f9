import type { Command } from 'commander';
import type { NodeView } from '../../controlplane/api-types.js';
import type { ListBody } from '../admin-client.js';
import { printList, when } from '../output.js';
import { ADMIN_GROUP, connect, withConnection, type ConnectionFlags } from './common.js';

export function registerNodeCommands(program: Command): void {
  withConnection(
    program
      .command('nodes')
      .helpGroup(ADMIN_GROUP)
      .description('list gateway nodes: instance, address, version, config version served and health'),
  ).action(async (flags: ConnectionFlags) => {
    const body = await connect(flags).get<ListBody<NodeView>>('/nodes');
    printList(
      flags.json,
      body,
      [
        { header: 'id', value: (n) => n.id },
        { header: 'instance', value: (n) => n.instance },
        { header: 'address', value: (n) => n.address },
        { header: 'version', value: (n) => n.version },
        { header: 'config', value: (n) => `${n.configVersion}${n.configCurrent ? '' : ' (behind)'}` },
        { header: 'status', value: (n) => n.status },
        { header: 'heartbeat', value: (n) => when(n.heartbeatAt) },
      ],
      'no nodes have reported in — start one with: tollgate start, or tollgate serve --instance <name>',
    );
  });
}
