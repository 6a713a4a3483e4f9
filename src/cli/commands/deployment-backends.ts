import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BackendView, DeploymentView } from '../../controlplane/api-types.js';
import { PROVIDERS, type ProviderName } from '../../domain/model.js';
import { intOption } from '../options.js';
import type { Column } from '../output.js';

/** A backend as `--backend` gives it, in the admin API's words (docs/backends.md). */
export interface BackendInput {
  name: string;
  upstreamUrl: string;
  provider?: ProviderName;
  upstreamModel?: string;
  apiVersion?: string;
  priority?: number;
  weight?: number;
  upstreamApiKey?: string;
}

export interface BackendFlags {
  backend?: BackendInput[];
  /** false with --no-backends; commander's default for a lone negated flag is true. */
  backends?: boolean;
  retryAttempts?: number;
  breakerFailures?: number;
  breakerInterval?: number;
  breakerTrip?: number;
  acceptRetryAfter?: boolean;
}

const SPEC_KEYS: Record<string, string> = {
  name: 'the backend name, unique within the deployment (required)',
  url: 'its upstream base URL (required)',
  priority: '1 is the highest (default 1)',
  weight: 'its share within its priority group (default 1)',
  model: "model name sent upstream (default: the deployment's)",
  provider: "a provider of the deployment's API family (default: the deployment's)",
  'api-version': "api-version for azure-openai (default: the deployment's)",
  'key-env': 'the environment variable holding its upstream key (keys never go on the command line)',
};

const priorityOf = intOption('priority', 1, 1000);
const weightOf = intOption('weight', 1, 1000);

/**
 * One `--backend name=east,url=https://…,priority=1,weight=2,key-env=EAST_KEY`. The key is read from
 * the environment: a command line shows up in process lists and shell history.
 */
export function parseBackendSpec(spec: string, env: NodeJS.ProcessEnv = process.env): BackendInput {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const at = part.indexOf('=');
    if (at < 1) throw new InvalidArgumentError(`--backend expects key=value pairs separated by commas, got "${part}".`);
    const key = part.slice(0, at).trim();
    if (key === 'key' || key === 'api-key') {
      throw new InvalidArgumentError('--backend takes no key on the command line: put it in an environment variable and name it with key-env=VAR.');
    }
    if (!(key in SPEC_KEYS)) throw new InvalidArgumentError(`--backend: unknown key "${key}" (allowed: ${Object.keys(SPEC_KEYS).join(', ')}).`);
    if (fields.has(key)) throw new InvalidArgumentError(`--backend: "${key}" is given twice.`);
    fields.set(key, part.slice(at + 1).trim());
  }
  const name = fields.get('name');
  const upstreamUrl = fields.get('url');
  if (!name) throw new InvalidArgumentError(`--backend needs name=…, got "${spec}".`);
  if (!upstreamUrl) throw new InvalidArgumentError(`--backend "${name}" needs url=….`);
  const backend: BackendInput = { name, upstreamUrl };
  const provider = fields.get('provider');
  if (provider !== undefined) {
    if (!(PROVIDERS as readonly string[]).includes(provider)) {
      throw new InvalidArgumentError(`--backend "${name}": provider must be one of ${PROVIDERS.join(', ')}.`);
    }
    backend.provider = provider as ProviderName;
  }
  const model = fields.get('model');
  if (model) backend.upstreamModel = model;
  const apiVersion = fields.get('api-version');
  if (apiVersion) backend.apiVersion = apiVersion;
  const priority = fields.get('priority');
  if (priority !== undefined) backend.priority = priorityOf(priority);
  const weight = fields.get('weight');
  if (weight !== undefined) backend.weight = weightOf(weight);
  const keyEnv = fields.get('key-env');
  if (keyEnv !== undefined) {
    const key = env[keyEnv];
    if (!key) throw new InvalidArgumentError(`--backend "${name}": the environment variable ${keyEnv} (key-env) is not set.`);
    backend.upstreamApiKey = key;
  }
  return backend;
}

/** Adds the pool flags to deployments create and update. */
export function backendOptions(cmd: Command, mode: 'create' | 'update'): Command {
  const specHelp = Object.entries(SPEC_KEYS)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  cmd
    .addOption(
      new Option(
        '--backend <spec>',
        `a backend of the deployment's pool, repeatable: name=…,url=…[,priority=…,weight=…,model=…,provider=…,api-version=…,key-env=VAR] (${specHelp})` +
          (mode === 'update' ? '; the list given replaces the pool, a backend named as before keeps its stored key' : ''),
      ).argParser((spec: string, previous: BackendInput[] | undefined) => [...(previous ?? []), parseBackendSpec(spec)]),
    )
    .addOption(
      new Option('--retry-attempts <n>', 'upstream calls per request, the first included (default: the number of backends, at most 5)').argParser(
        intOption('--retry-attempts', 1, 5),
      ),
    )
    .addOption(new Option('--breaker-failures <n>', 'failures within the interval that trip a backend (default 5)').argParser(intOption('--breaker-failures', 1, 1000)))
    .addOption(new Option('--breaker-interval <seconds>', 'the interval failures are counted in (default 60)').argParser(intOption('--breaker-interval', 1, 86_400)))
    .addOption(new Option('--breaker-trip <seconds>', 'how long a tripped backend is left out (default 30)').argParser(intOption('--breaker-trip', 1, 86_400)))
    .addOption(new Option('--accept-retry-after', "trip a backend for exactly its Retry-After on a 429 or 503 (the default)").hideHelp())
    .addOption(new Option('--no-accept-retry-after', "ignore a backend's Retry-After: trip only on counted failures"));
  if (mode === 'update') cmd.option('--no-backends', 'drop the pool and return to one upstream (give it with --upstream-url)');
  return cmd;
}

/** The pool fields of a create or update body; on update, retry and breaker merge into `current`'s. */
export function backendFields(flags: BackendFlags, current?: Pick<DeploymentView, 'retry' | 'circuitBreaker'>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (flags.backends === false) {
    if (flags.backend) throw new Error('--no-backends and --backend contradict each other: give one of them');
    fields.backends = null;
  } else if (flags.backend) {
    fields.backends = flags.backend;
  }
  if (flags.retryAttempts !== undefined) fields.retry = { ...(current?.retry ?? {}), attempts: flags.retryAttempts };
  const breaker = Object.fromEntries(
    Object.entries({
      failures: flags.breakerFailures,
      intervalSeconds: flags.breakerInterval,
      tripSeconds: flags.breakerTrip,
      acceptRetryAfter: flags.acceptRetryAfter,
    }).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(breaker).length > 0) fields.circuitBreaker = { ...(current?.circuitBreaker ?? {}), ...breaker };
  return fields;
}

/** Whether the update must read the deployment first to merge retry or breaker settings. */
export function mergesPolicies(flags: BackendFlags): boolean {
  return (
    flags.retryAttempts !== undefined ||
    flags.breakerFailures !== undefined ||
    flags.breakerInterval !== undefined ||
    flags.breakerTrip !== undefined ||
    flags.acceptRetryAfter !== undefined
  );
}

/** The columns of a pool in `deployments show`; keys are never shown, only whether one is set. */
export const BACKEND_COLUMNS: readonly Column<BackendView>[] = [
  { header: 'backend', value: (b) => b.name },
  { header: 'priority', value: (b) => b.priority },
  { header: 'weight', value: (b) => b.weight },
  { header: 'provider', value: (b) => b.provider },
  { header: 'model', value: (b) => b.upstreamModel },
  { header: 'api-version', value: (b) => b.apiVersion },
  { header: 'api-key', value: (b) => (b.hasUpstreamApiKey ? 'set' : null) },
  { header: 'url', value: (b) => b.upstreamUrl },
];
