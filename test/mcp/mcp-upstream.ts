import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** The credential the gateway must inject; the upstream refuses anything else with 401. */
export const UPSTREAM_TOKEN = 'upstream-secret-token-42';

export interface McpUpstream {
  url: string;
  /** Headers of every request it received, in order. */
  readonly seen: IncomingHttpHeaders[];
  /** Tool calls it executed, by tool name. */
  readonly calls: string[];
  /** Opens the gate the `countdown` tool waits at after its first progress notification. */
  openGate(): void;
  close(): Promise<void>;
}

/**
 * A real MCP server (the official SDK's McpServer behind its Streamable HTTP transport, stateful
 * sessions; answers as SSE streams, or as JSON with `jsonResponses`) on 127.0.0.1, port 0, requiring `Authorization: Bearer UPSTREAM_TOKEN`. Tools: echo,
 * add, secret, and countdown, which sends a progress notification, waits for openGate(), then
 * sends another and answers — so a proxy that buffered the stream would never deliver the first.
 */
export async function startMcpUpstream(options: { jsonResponses?: boolean } = {}): Promise<McpUpstream> {
  const seen: IncomingHttpHeaders[] = [];
  const calls: string[] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let releaseGate: () => void = () => {};
  let gate = new Promise<void>((resolve) => (releaseGate = resolve));

  const build = (): McpServer => {
    const server = new McpServer({ name: 'test-upstream', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echoes its text', inputSchema: { text: z.string() } }, async ({ text }) => {
      calls.push('echo');
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
      calls.push('add');
      return { content: [{ type: 'text', text: String(a + b) }] };
    });
    server.registerTool('secret', { description: 'Not for everyone' }, async () => {
      calls.push('secret');
      return { content: [{ type: 'text', text: 'the secret' }] };
    });
    server.registerTool('countdown', { description: 'Reports progress while it works' }, async (extra) => {
      calls.push('countdown');
      const token = extra._meta?.progressToken;
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
      await gate;
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 2, total: 2 } });
      return { content: [{ type: 'text', text: 'done' }] };
    });
    return server;
  };

  const http: Server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.headers.authorization !== `Bearer ${UPSTREAM_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
    const handle = async () => {
      if (!transport) {
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          // Answers POSTs with application/json instead of an SSE stream.
          enableJsonResponse: options.jsonResponses ?? false,
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId) transports.delete(created.sessionId);
        };
        await build().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res);
    };
    handle().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    calls,
    openGate: () => {
      releaseGate();
      gate = new Promise<void>((resolve) => (releaseGate = resolve));
    },
    async close() {
      for (const t of transports.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
