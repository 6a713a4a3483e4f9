import type { IncomingHttpHeaders } from 'node:http';
import type { OperationSpec } from '../operations/operation.js';
import type { ProjectRuntime } from '../snapshot/config-snapshot.js';

/** What the proxy knows of an incoming data-plane request. */
export interface DataPlaneRequest {
  readonly id: string;
  /** The operation the route named. */
  readonly spec: OperationSpec;
  readonly headers: IncomingHttpHeaders;
  /** Azure style: the deployment named in the path; otherwise null (it is the body's `model`). */
  readonly pathDeployment: string | null;
  /** The `api-version` query parameter (Azure clients send one). */
  readonly apiVersion: string | null;
  /** The body as received: forwarded as it is when nothing in it changes. */
  readonly text: string;
  /** The body, parsed. */
  readonly body: unknown;
  /** The calling project, authenticated from the headers before the body was read. */
  readonly project?: ProjectRuntime;
}
