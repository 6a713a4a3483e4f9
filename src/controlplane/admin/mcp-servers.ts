import { newId } from '../../domain/ids.js';
import type { McpAuthType, McpServer, McpServerStatus } from '../../domain/mcp.js';
import type { Resource } from '../../domain/model.js';
import { conflict, invalid, notFound } from '../admin-errors.js';
import { mcpServerView } from '../mcp-views.js';
import type { Principal } from '../permissions.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface McpUpstreamAuthInput {
  type: McpAuthType;
  headerName?: string | null;
  value?: string | null;
}
export interface McpServerInput {
  name: string;
  url: string;
  upstreamAuth?: McpUpstreamAuthInput;
  description?: string | null;
}
export type McpServerUpdate = Partial<Omit<McpServerInput, 'name'>>;

/** Headers the gateway sets itself: an upstream credential may not replace them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'accept', 'connection', 'transfer-encoding', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']);

/** MCP servers of a resource: upstream endpoints, their credential (sealed, write-only) and status. */
export class McpServerAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(resourceName: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return (await this.ctx.store.mcp.listServers(resource.id)).map((s) => mcpServerView(s, resource.name));
  }

  async get(resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return mcpServerView(await this.find(resource, name), resource.name);
  }

  async find(resource: Resource, name: string): Promise<McpServer> {
    const server = await this.ctx.store.mcp.findServer(resource.id, name);
    if (!server) throw notFound(`MCP server "${name}" does not exist in resource "${resource.name}"`);
    return server;
  }

  async create(actor: Principal, resourceName: string, input: McpServerInput) {
    const resource = await this.ctx.find.resource(resourceName);
    if (await this.ctx.store.mcp.findServer(resource.id, input.name)) {
      throw conflict(`MCP server "${input.name}" already exists in resource "${resourceName}"`);
    }
    const at = now();
    const server: McpServer = {
      id: newId('mcp'),
      resourceId: resource.id,
      name: input.name,
      url: checkUrl(input.url),
      ...this.auth(input.upstreamAuth ?? { type: 'none' }, null),
      description: input.description ?? null,
      status: 'active',
      createdAt: at,
      updatedAt: at,
    };
    await this.ctx.changes.change(actor, 'mcp-server.create', `resources/${resourceName}/mcp-servers/${input.name}`, redact(input), (tx) =>
      tx.mcp.insertServer(server),
    );
    return mcpServerView(server, resource.name);
  }

  async update(actor: Principal, resourceName: string, name: string, patch: McpServerUpdate) {
    const resource = await this.ctx.find.resource(resourceName);
    const current = await this.find(resource, name);
    const updated: McpServer = {
      ...current,
      url: patch.url === undefined ? current.url : checkUrl(patch.url),
      ...(patch.upstreamAuth === undefined ? {} : this.auth(patch.upstreamAuth, current)),
      description: patch.description !== undefined ? patch.description : current.description,
      updatedAt: now(),
    };
    await this.ctx.changes.change(actor, 'mcp-server.update', `resources/${resourceName}/mcp-servers/${name}`, redact(patch), (tx) =>
      tx.mcp.updateServer(current.id, updated),
    );
    return mcpServerView(updated, resource.name);
  }

  async delete(actor: Principal, resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    const server = await this.find(resource, name);
    await this.ctx.changes.change(actor, 'mcp-server.delete', `resources/${resourceName}/mcp-servers/${name}`, null, (tx) => tx.mcp.deleteServer(server.id));
  }

  /** Blocks or unblocks the server: every node refuses (or admits) its calls from the next config version. */
  async setStatus(actor: Principal, resourceName: string, name: string, status: McpServerStatus) {
    const resource = await this.ctx.find.resource(resourceName);
    const server = await this.find(resource, name);
    const updated: McpServer = { ...server, status, updatedAt: now() };
    if (server.status !== status) {
      const action = status === 'blocked' ? 'mcp-server.block' : 'mcp-server.unblock';
      await this.ctx.changes.change(actor, action, `resources/${resourceName}/mcp-servers/${name}`, null, (tx) =>
        tx.mcp.updateServer(server.id, { status, updatedAt: updated.updatedAt }),
      );
    }
    return mcpServerView(server.status === status ? server : updated, resource.name);
  }

  /** The upstream auth of a create (no `current`) or an update; an update without `value` keeps the sealed one of the same type. */
  private auth(input: McpUpstreamAuthInput, current: McpServer | null): Pick<McpServer, 'authType' | 'authHeaderName' | 'authValueSealed'> {
    if (input.type === 'none') {
      if (input.value || input.headerName) throw invalid('upstreamAuth: type "none" takes no headerName or value', 'upstreamAuth.type');
      return { authType: 'none', authHeaderName: null, authValueSealed: null };
    }
    let headerName: string | null = null;
    if (input.type === 'header') {
      if (!input.headerName) throw invalid('upstreamAuth.headerName: is required with type "header"', 'upstreamAuth.headerName');
      headerName = input.headerName;
      if (RESERVED_HEADERS.has(headerName.toLowerCase())) {
        throw invalid(`upstreamAuth.headerName: "${headerName}" is a header the gateway sets itself; choose another`, 'upstreamAuth.headerName');
      }
    } else if (input.headerName) {
      throw invalid('upstreamAuth.headerName: only with type "header" (type "bearer" sends Authorization: Bearer <value>)', 'upstreamAuth.headerName');
    }
    const kept = current && current.authType === input.type && input.value === undefined ? current.authValueSealed : null;
    const sealed = input.value ? this.ctx.secrets.seal(input.value) : kept;
    if (sealed === null) throw invalid(`upstreamAuth.value: is required with type "${input.type}"`, 'upstreamAuth.value');
    return { authType: input.type, authHeaderName: headerName, authValueSealed: sealed };
  }
}

/** An http(s) URL without credentials in it (they belong in upstreamAuth, sealed). */
function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('url: must be an absolute http or https URL, e.g. https://mcp.example.com/mcp', 'url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url: must use http or https', 'url');
  if (url.username || url.password) throw invalid('url: must not carry credentials; set them in upstreamAuth, where they are sealed', 'url');
  return text;
}

/** A server change as the audit log keeps it: no credential. */
function redact(input: McpServerUpdate | McpServerInput): Record<string, unknown> {
  const { upstreamAuth, ...rest } = input;
  if (!upstreamAuth) return rest;
  const { value, ...auth } = upstreamAuth;
  return { ...rest, upstreamAuth: { ...auth, ...(value === undefined ? {} : { value: value ? '(set)' : '(cleared)' }) } };
}
