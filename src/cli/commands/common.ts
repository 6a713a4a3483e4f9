import { InvalidArgumentError, Option, type Command } from 'commander';
import { AdminClient, DEFAULT_URL } from '../admin-client.js';
import { intOption } from '../options.js';

/** The flags every admin command takes. */
export interface ConnectionFlags {
  url: string;
  token?: string;
  json?: boolean;
}

export const ADMIN_GROUP = 'Admin commands (over the REST API of a running gateway):';
export const MAX_TOKENS = Number.MAX_SAFE_INTEGER;

/** Adds --url, --token and --json; call last in the chain so they list after the command's own flags. */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'base URL of the gateway').env('TOLLGATE_URL').default(DEFAULT_URL).helpGroup('Connection:'))
    .addOption(
      new Option('--token <token>', 'admin token (prefer the variable: flags show up in process lists)')
        .env('TOLLGATE_ADMIN_TOKEN')
        .helpGroup('Connection:'),
    )
    .addOption(new Option('--json', "print the API's JSON instead of a table").helpGroup('Connection:'));
}

export function connect(flags: ConnectionFlags): AdminClient {
  if (!flags.token) throw new Error('no admin token: pass --token or set TOLLGATE_ADMIN_TOKEN');
  return new AdminClient(flags.url, flags.token);
}

/**
 * A count of tokens, or "none" to clear it. Stays "none" until sent (see orNull): commander turns a
 * parser's null into "".
 */
export function tokensOrNone(flag: string) {
  const parseCount = intOption(flag, 1, MAX_TOKENS);
  return (value: string): number | 'none' => {
    if (value === 'none') return 'none';
    try {
      return parseCount(value);
    } catch {
      throw new InvalidArgumentError(`${flag} must be a whole number from 1 to ${MAX_TOKENS}, or "none" to clear it.`);
    }
  };
}

/** A flag value for the API: "none" clears (null); undefined, the flag not given, leaves it alone. */
export function orNull<T>(value: T | 'none' | undefined): T | null | undefined {
  return value === 'none' ? null : value;
}

/** Repeatable `--option key=value`; the value is JSON when it parses as JSON (0, true, "x", {...}), else text. */
export function keyValue(value: string, previous: Record<string, unknown> | undefined): Record<string, unknown> {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError(`expected key=value, got "${value}".`);
  const key = value.slice(0, at);
  const text = value.slice(at + 1);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text, e.g. model=gpt-4o.
  }
  return { ...previous, [key]: parsed };
}

/** Repeatable flag collecting strings. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
