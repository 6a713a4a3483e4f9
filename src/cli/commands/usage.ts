import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CostView, GatewayUsageSummary, LogPage, LogView, Outcome, RequestCounts, TokenCounts, UsageGroupBy, UsageOverview, UsageReport } from '../../controlplane/api-types.js';
import { OUTCOMES } from '../../usage/ledger.js';
import { AdminApiError, apiPath, type AdminClient } from '../admin-client.js';
import { intOption } from '../options.js';
import { err, formatTable, out, printJson, when, type Column } from '../output.js';
import { ADMIN_GROUP, connect, withConnection, type ConnectionFlags } from './common.js';

/* Answers of GET /gateways/{g}/usage and GET /gateways/{g}/logs, as the API declares them. */
type Requests = RequestCounts;
type Tokens = TokenCounts;
type GroupBy = UsageGroupBy;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A commander parser for --from/--to: an ISO date or date-time (local time without Z or an offset),
 * a duration ago (30m, 6h, 7d), or epoch milliseconds. Answers epoch milliseconds.
 */
export function timeOption(flag: string, now: () => number = Date.now) {
  return (value: string): number => {
    const text = value.trim();
    const relative = /^(\d+)([smhdw])$/i.exec(text);
    let ms = NaN;
    if (relative) ms = now() - Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase() as keyof typeof UNIT_MS];
    else if (/^\d{12,}$/.test(text)) ms = Number(text);
    else if (ISO.test(text)) ms = Date.parse(text.length === 10 ? `${text}T00:00` : text.replace(' ', 'T'));
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new InvalidArgumentError(`${flag} must be an ISO date or time (e.g. 2025-01-31T09:00:00Z) or a time ago (e.g. 30m, 6h, 7d).`);
    }
    return ms;
  };
}

interface RangeFlags {
  from?: number;
  to?: number;
}

function checkRange(flags: RangeFlags): void {
  if (flags.from === undefined) return;
  const to = flags.to ?? Date.now();
  if (flags.from >= to) {
    throw new Error(
      flags.to === undefined
        ? `--from (${iso(flags.from)}) is in the future`
        : `--from (${iso(flags.from)}) must be before --to (${iso(flags.to)})`,
    );
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Query parameters from the flags given, leaving out the others. */
function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) q.set(key, String(value));
  const text = q.toString();
  return text ? `?${text}` : '';
}

const rangeOptions = (cmd: Command, what: string) =>
  cmd
    .option('--from <time>', `${what} from this time: ISO (2025-01-31T09:00Z; local without an offset) or a time ago (30m, 6h, 7d)`, timeOption('--from'))
    .option('--to <time>', `${what} up to this time (default: now), same forms as --from`, timeOption('--to'));

interface UsageFlags extends ConnectionFlags, RangeFlags {
  /** Absent: every gateway (the overview). */
  gateway?: string;
  interval?: string;
  project?: string;
  deployment?: string;
  groupBy?: GroupBy;
}

interface UsageRow {
  /** The time of the interval, or null for the totals row. */
  t: string | null;
  group: string | null;
  requests: Requests;
  tokens: Tokens;
  cost: CostView;
}

/** Cost as exact amounts per currency: "0.012345 USD" (several currencies joined). */
const costText = (cost: CostView): string | null => {
  const parts = Object.entries(cost).map(([currency, m]) => `${m.amount} ${currency}`);
  return parts.length === 0 ? null : parts.join(', ');
};

const errors = (r: Requests) => r.rejected + r.upstream_error + r.client_aborted;

export function registerUsageCommands(program: Command): void {
  withConnection(
    rangeOptions(
      program
        .command('usage')
        .helpGroup(ADMIN_GROUP)
        .description("show a gateway's requests and tokens over time (default: the last 24 hours); without --gateway, every gateway's totals (default: since 00:00 UTC today)")
        .option('-g, --gateway <name>', 'the gateway (without it: one row per gateway)'),
      'usage',
    )
      .addOption(new Option('--interval <interval>', 'one row per minute, hour or day (default: from the length of the range)').choices(['minute', 'hour', 'day']))
      .option('--project <name>', 'only this project')
      .option('--deployment <name>', 'only this deployment')
      .addOption(new Option('--group-by <what>', 'one row per project or deployment in each interval').choices(['project', 'deployment'])),
  ).action(async (flags: UsageFlags) => {
    checkRange(flags);
    if (flags.gateway === undefined) {
      const perGateway = (['interval', 'project', 'deployment', 'groupBy'] as const).filter((f) => flags[f] !== undefined);
      if (perGateway.length > 0) throw new Error(`--${perGateway[0] === 'groupBy' ? 'group-by' : perGateway[0]} needs --gateway: without it, usage is one row per gateway`);
      const overview = await connect(flags).get<UsageOverview>(`/usage${query({ from: flags.from, to: flags.to })}`);
      if (flags.json) return printJson(overview);
      return printOverview(overview);
    }
    const body = await connect(flags).get<UsageReport>(
      apiPath`/gateways/${flags.gateway}/usage` +
        query({
          from: flags.from,
          to: flags.to,
          interval: flags.interval,
          project: flags.project,
          deployment: flags.deployment,
          groupBy: flags.groupBy,
        }),
    );
    if (flags.json) return printJson(body);
    printUsage(body);
  });

  withConnection(
    rangeOptions(
      program
        .command('logs')
        .helpGroup(ADMIN_GROUP)
        .description("show a gateway's request log, newest first; --follow prints new requests as they arrive")
        .requiredOption('-g, --gateway <name>', 'the gateway')
        .option('--project <name>', 'only this project')
        .option('--deployment <name>', 'only this deployment')
        .addOption(new Option('--outcome <outcome>', 'only requests with this outcome').choices(OUTCOMES)),
      'requests',
    )
      .option('-n, --limit <n>', 'how many entries per page (1 to 500)', intOption('--limit', 1, 500), 20)
      .option('--cursor <cursor>', 'entries older than this cursor (printed when more remain)')
      .option('-f, --follow', 'keep printing new requests, oldest first, until interrupted (Ctrl-C)')
      .option('--interval-ms <n>', 'with --follow: how often to check for new requests, in milliseconds', intOption('--interval-ms', 100, 3_600_000), 1000)
      // For tests and scripts: stop following after this many checks.
      .addOption(new Option('--max-polls <n>').argParser(intOption('--max-polls', 1, Number.MAX_SAFE_INTEGER)).hideHelp()),
  ).action(async (flags: LogsFlags) => {
    checkRange(flags);
    const client = connect(flags);
    if (flags.follow) {
      if (flags.cursor !== undefined) throw new Error('--cursor cannot be used with --follow: it starts from the newest requests');
      if (flags.to !== undefined) throw new Error('--to cannot be used with --follow: new requests are always after it');
      return follow(client, flags);
    }
    const body = await client.get<LogPage>(logsPath(flags, flags.limit, flags.cursor));
    if (flags.json) return printJson(body);
    if (body.items.length === 0) out(noLogs(flags));
    else out(formatTable(body.items, logColumnsOf(body.items)));
    if (body.nextCursor) err(`more entries: ${continueCommand(flags, body.nextCursor)}`);
  });
}

function printUsage(body: UsageReport): void {
  const groupBy = body.groupBy;
  const rows: UsageRow[] = body.series
    .flatMap((s) => s.points.map((p) => ({ t: p.t, group: groupBy ? (s[groupBy] ?? '(none)') : null, requests: p.requests, tokens: p.tokens, cost: p.cost ?? {} })))
    .sort((a, b) => a.t.localeCompare(b.t) || (a.group ?? '').localeCompare(b.group ?? ''));
  if (rows.length === 0) {
    out(`no usage for gateway "${body.gateway}" in that range (${when(body.from)} to ${when(body.to)}) — send requests through it and try again`);
    return;
  }
  const columns: Column<UsageRow>[] = [
    { header: 'time', value: (r) => (r.t === null ? 'TOTAL' : when(r.t)) },
    ...(groupBy ? [{ header: groupBy, value: (r: UsageRow) => (r.t === null ? '(all)' : r.group) }] : []),
    { header: 'requests', value: (r) => r.requests.total },
    { header: 'ok', value: (r) => r.requests.ok },
    { header: '429', value: (r) => r.requests.rate_limited },
    { header: '403', value: (r) => r.requests.quota_exceeded },
    { header: 'NEVER FITS', value: (r) => r.requests.never_fits },
    { header: 'errors', value: (r) => errors(r.requests) },
    { header: 'prompt', value: (r) => r.tokens.prompt },
    { header: 'completion', value: (r) => r.tokens.completion },
    { header: 'total tokens', value: (r) => r.tokens.total },
    // Only when something was priced (deployments with pricing).
    ...(Object.keys(body.totals.cost ?? {}).length > 0 ? [{ header: 'cost', value: (r: UsageRow) => costText(r.cost) }] : []),
  ];
  const totals: UsageRow = { t: null, group: null, requests: body.totals.requests, tokens: body.totals.tokens, cost: body.totals.cost ?? {} };
  out(formatTable([...rows, totals], columns));
}

/** Who uses what across gateways: one row per gateway and a total. */
function printOverview(body: UsageOverview): void {
  if (body.gateways.length === 0) {
    out('no gateways yet — create one with: tollgate gateways create --name <name> --resource <resource>');
    return;
  }
  type Row = Pick<GatewayUsageSummary, 'requests' | 'tokens' | 'cost' | 'refusals'> & { name: string; projects: string };
  const rows: Row[] = body.gateways.map((g) => ({ ...g, projects: `${g.enabledProjects}/${g.projects}` }));
  const priced = rows.some((r) => Object.keys(r.cost ?? {}).length > 0);
  const columns: Column<Row>[] = [
    { header: 'gateway', value: (r) => r.name },
    { header: 'projects on', value: (r) => r.projects },
    { header: 'requests', value: (r) => r.requests.total },
    { header: 'refusals', value: (r) => r.refusals },
    { header: 'errors', value: (r) => errors(r.requests) },
    { header: 'total tokens', value: (r) => r.tokens.total },
    ...(priced ? [{ header: 'cost', value: (r: Row) => costText(r.cost ?? {}) }] : []),
  ];
  out(`${when(body.from)} to ${when(body.to)}`);
  out(formatTable(rows, columns));
}

interface LogsFlags extends ConnectionFlags, RangeFlags {
  gateway: string;
  project?: string;
  deployment?: string;
  outcome?: Outcome;
  limit: number;
  cursor?: string;
  follow?: boolean;
  intervalMs: number;
  maxPolls?: number;
}

const logColumns: Column<LogView>[] = [
  { header: 'time', value: (e) => when(e.time) },
  { header: 'status', value: (e) => e.status },
  { header: 'outcome', value: (e) => (e.errorCode && e.outcome !== 'ok' ? `${e.outcome} (${e.errorCode})` : e.outcome) },
  { header: 'project', value: (e) => e.project },
  { header: 'deployment', value: (e) => e.deployment },
  { header: 'op', value: (e) => e.operation },
  { header: 'stream', value: (e) => (e.stream ? 'yes' : 'no') },
  { header: 'tokens', value: (e) => (e.tokens.total === 0 ? null : `${e.tokens.prompt}+${e.tokens.completion}=${e.tokens.total}`) },
  { header: 'latency', value: (e) => `${Math.round(e.latencyMs)}ms` },
  { header: 'request id', value: (e) => e.requestId },
];

const costColumn: Column<LogView> = { header: 'cost', value: (e) => (e.cost ? `${e.cost.amount} ${e.cost.currency}` : null) };

/** The log columns, with each request's cost when any of them is priced. */
const logColumnsOf = (entries: readonly LogView[]): Column<LogView>[] => {
  if (!entries.some((e) => e.cost)) return logColumns;
  const at = logColumns.findIndex((c) => c.header === 'tokens') + 1;
  return [...logColumns.slice(0, at), costColumn, ...logColumns.slice(at)];
};

function logsPath(flags: LogsFlags, limit: number, cursor: string | undefined): string {
  return (
    apiPath`/gateways/${flags.gateway}/logs` +
    query({
      from: flags.from,
      to: flags.to,
      project: flags.project,
      deployment: flags.deployment,
      outcome: flags.outcome,
      cursor,
      limit,
    })
  );
}

function noLogs(flags: LogsFlags): string {
  const filtered = [flags.project, flags.deployment, flags.outcome, flags.from, flags.to, flags.cursor].some((v) => v !== undefined);
  return filtered
    ? `no requests logged on gateway "${flags.gateway}" match those filters`
    : `no requests logged on gateway "${flags.gateway}" yet — send requests through it and try again`;
}

/** The command that prints the next page: the same filters, absolute times, the cursor. */
function continueCommand(flags: LogsFlags, cursor: string): string {
  const args: [string, string | undefined][] = [
    ['--gateway', flags.gateway],
    ['--project', flags.project],
    ['--deployment', flags.deployment],
    ['--outcome', flags.outcome],
    ['--from', flags.from === undefined ? undefined : iso(flags.from)],
    ['--to', flags.to === undefined ? undefined : iso(flags.to)],
    ['--limit', flags.limit === 20 ? undefined : String(flags.limit)],
    ['--cursor', cursor],
  ];
  return ['tollgate logs', ...args.filter(([, v]) => v !== undefined).map(([flag, v]) => `${flag} ${shellWord(v!)}`)].join(' ');
}

const lines = (text: string) => text.replace(/\n$/, '').split('\n');

const shellWord = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** New entries per check at most: beyond that, the oldest of them are skipped (with a note). */
const FOLLOW_MAX_NEW = 2_000;
const FOLLOW_PAGE = 500;

async function follow(client: AdminClient, flags: LogsFlags): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `tollgate logs -f | head`: a closed pipe ends the command quietly.
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  };
  process.stdout.on('error', onStdoutError);
  // Lines printed before: later batches are laid out with them, so the columns stay aligned
  // (unless a new value is wider); the header is printed once.
  let printed: LogView[] | null = null;
  const print = (entries: LogView[]) => {
    if (entries.length === 0) return;
    if (flags.json) out(entries.map((e) => JSON.stringify(e)).join('\n'));
    else out(lines(formatTable([...(printed ?? []), ...entries], logColumnsOf([...(printed ?? []), ...entries]))).slice(printed ? -entries.length : 0).join('\n'));
    printed = [...(printed ?? []), ...entries].slice(-100);
  };
  try {
    const first = await untilStopped(stop.signal, client.get<LogPage>(logsPath(flags, flags.limit, undefined)));
    if (first === undefined) return;
    // Ids are time-ordered: the greatest seen is the boundary of what is new.
    let newest = first.items[0]?.id;
    print([...first.items].reverse());
    if (!flags.json && first.items.length === 0) err(`${noLogs(flags)}; waiting for new requests (Ctrl-C to stop)`);

    let connectionLost = false;
    for (let poll = 0; flags.maxPolls === undefined || poll < flags.maxPolls; poll++) {
      if (!(await sleep(flags.intervalMs, stop.signal))) return;
      let fresh: LogView[] | undefined;
      try {
        fresh = await untilStopped(stop.signal, newerThan(client, flags, newest));
      } catch (e) {
        // The gateway restarting is no reason to stop following; API errors (deleted, revoked) are.
        if (e instanceof AdminApiError) throw e;
        if (!connectionLost) err(`tollgate: ${e instanceof Error ? e.message : String(e)}; retrying`);
        connectionLost = true;
        continue;
      }
      if (fresh === undefined) return;
      connectionLost = false;
      if (fresh.length > 0) newest = fresh[0]!.id;
      print(fresh.reverse());
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
  }
}

/** Entries newer than `newest` (all when undefined), newest first: pages until one reaches a known entry. */
async function newerThan(client: AdminClient, flags: LogsFlags, newest: string | undefined): Promise<LogView[]> {
  const fresh: LogView[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.get<LogPage>(logsPath(flags, FOLLOW_PAGE, cursor));
    for (const entry of page.items) {
      if (newest !== undefined && entry.id <= newest) return fresh;
      fresh.push(entry);
    }
    if (!page.nextCursor) return fresh;
    if (fresh.length >= FOLLOW_MAX_NEW) {
      err(`tollgate: more than ${FOLLOW_MAX_NEW} new requests since the last check; showing the newest ${fresh.length}`);
      return fresh;
    }
    cursor = page.nextCursor;
  }
}

/** The promise's value, or undefined once the signal fires (the request itself finishes unobserved). */
function untilStopped<T>(signal: AbortSignal, promise: Promise<T>): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Waits, answering false when stopped first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
