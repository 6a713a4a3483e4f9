import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Role, TaskState, type AgentCard, type Message } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

/** The agent's own credential: it refuses requests without it (its auth passes through the proxy). */
export const AGENT_SECRET = 'agent-own-secret';

export interface TestA2AAgent {
  url: string;
  /** Headers of each request the agent received (after the card). */
  seen: Array<Record<string, string | string[] | undefined>>;
  /** Releases the next step of the streaming task (the executor waits for it between events). */
  step(): void;
  close(): Promise<void>;
}

const text = (t: string, contextId: string, taskId: string): Message => ({
  messageId: `m-${Math.random().toString(36).slice(2)}`,
  contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [{ content: { $case: 'text', value: t }, metadata: undefined, filename: '', mediaType: 'text/plain' } as never],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

/**
 * A real A2A agent from the official SDK (JSON-RPC, v1.0 with the v0.3 compatibility layer) on
 * port 0. A message whose text is "stream" starts a task that publishes three status updates, each
 * only after the test calls step(); any other message is answered at once with "echo: <text>".
 */
export async function startA2AAgent(): Promise<TestA2AAgent> {
  let released = 0;
  let consumed = 0;
  let waiting: (() => void) | null = null;
  const nextGate = () =>
    consumed < released
      ? (consumed++, Promise.resolve())
      : new Promise<void>((resolve) => {
          waiting = () => {
            consumed++;
            resolve();
          };
        });
  const step = () => {
    released++;
    const w = waiting;
    waiting = null;
    w?.();
  };

  const executor: AgentExecutor = {
    async execute(ctx, bus) {
      const said = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
      if (said !== 'stream') {
        bus.publish(AgentEvent.message(text(`echo: ${said}`, ctx.contextId, '')));
        bus.finished();
        return;
      }
      bus.publish(
        AgentEvent.task({
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
          artifacts: [],
          history: [ctx.userMessage],
          metadata: undefined,
        }),
      );
      for (let i = 1; i <= 3; i++) {
        await nextGate();
        bus.publish(
          AgentEvent.statusUpdate({
            taskId: ctx.taskId,
            contextId: ctx.contextId,
            status: {
              state: i === 3 ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_WORKING,
              message: text(`step ${i}`, ctx.contextId, ctx.taskId),
              timestamp: new Date().toISOString(),
            },
            metadata: undefined,
          }),
        );
      }
      bus.finished();
    },
    async cancelTask() {},
  };

  const app = express();
  const seen: TestA2AAgent['seen'] = [];
  let url = '';
  const card = (): AgentCard =>
    ({
      name: 'Test agent',
      description: 'Echoes, or streams three steps',
      supportedInterfaces: [
        { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
        { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '0.3' },
      ],
      provider: undefined,
      version: '1.0.0',
      capabilities: { streaming: true, pushNotifications: false, extensions: [] },
      securitySchemes: { agentBearer: { scheme: { $case: 'httpAuthSecurityScheme', value: { description: '', scheme: 'Bearer', bearerFormat: '' } } } },
      securityRequirements: [{ schemes: { agentBearer: { list: [] } } }],
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [],
      signatures: [],
    }) as unknown as AgentCard;
  const handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), executor);
  // The card is built once the port is known.
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: async () => card(), legacyCompat: { enabled: true } }));
  app.use((req, res, next) => {
    seen.push({ ...req.headers });
    if (req.headers.authorization !== `Bearer ${AGENT_SECRET}`) {
      res.status(401).json({ error: 'the agent wants its own credential' });
      return;
    }
    next();
  });
  app.use('/', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }));
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    step,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
