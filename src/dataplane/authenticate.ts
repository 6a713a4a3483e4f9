import type { IncomingHttpHeaders } from 'node:http';
import { TollgateError } from '../errors.js';
import { hashSecret } from '../security/keys.js';
import type { ConfigSnapshot, ProjectRuntime } from '../snapshot/config-snapshot.js';

/** The project key: `api-key` (Azure style), `x-api-key` (Anthropic) or `Authorization: Bearer` (OpenAI). */
export function projectKeyOf(headers: IncomingHttpHeaders): string | null {
  const apiKey = headers['api-key'] ?? headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    return authorization.slice(7).trim();
  }
  return null;
}

/** Resolves the calling project from the snapshot: one SHA-256 and one Map lookup, no I/O. */
export function authenticateProject(snapshot: ConfigSnapshot, headers: IncomingHttpHeaders): ProjectRuntime {
  const key = projectKeyOf(headers);
  if (key === null) {
    throw new TollgateError('invalid_api_key', 'No API key provided. Send your project key in the api-key or x-api-key header, or as Authorization: Bearer <key>.');
  }
  const project = snapshot.projectsByKeyHash.get(hashSecret(key));
  if (!project) {
    throw new TollgateError('invalid_api_key', 'Incorrect API key provided: the key is unknown or has been regenerated.');
  }
  if (!project.enabled) {
    const where = project.gateway
      ? `gateway "${project.gateway.name}"`
      : `any gateway served here (resource "${project.resourceName}" has no gateway on this node)`;
    throw new TollgateError('project_not_enabled', `Project "${project.name}" is not enabled on ${where}. Ask an admin to add the project to the gateway.`);
  }
  return project;
}
