import { Option, type Command } from 'commander';
import { loadSettings, type Settings } from '../config/settings.js';
import { SYSTEM_PRINCIPAL } from '../controlplane/permissions.js';
import { DEMO, seedDemo } from '../demo/seed.js';
import { ROLES, type Role } from '../domain/model.js';
import type { Tollgate } from '../server/app.js';
import { intOption } from './options.js';

// The server stack (Fastify, SQLite, undici) loads only for the commands that run it, so the
// admin commands, which only speak HTTP, start fast.
const server = () => import('../server/app.js');
const storeModule = () => import('../store/open-configured-store.js');

interface ServeFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: string;
  demo?: boolean;
  instance?: string;
  config?: string;
}

function settingsFrom(flags: ServeFlags, defaults: { host?: string } = {}): Settings {
  const host = flags.host ?? (process.env.HOST ? undefined : defaults.host);
  return loadSettings(process.env, { port: flags.port, host, dataDir: flags.dataDir, logLevel: flags.logLevel });
}

/**
 * `tollgate start` (one process, demo data, a generated owner token) is for this machine: it
 * listens on 127.0.0.1 unless told otherwise (--host 0.0.0.0 or HOST=0.0.0.0: every interface).
 * A node of a cluster (`serve`) sits behind a load balancer and listens on every interface.
 */
const START_HOST = '127.0.0.1';

/** Settings for a server process, with the process-wide tuning they ask for applied. */
async function serverSettingsFrom(flags: ServeFlags, defaults: { host?: string } = {}): Promise<Settings> {
  const settings = settingsFrom(flags, defaults);
  (await import('../server/heap.js')).boundHeapGrowth(settings.heapGrowthPercent);
  return settings;
}

/** Server lifecycle commands: start (embedded), serve (one node of an instance), migrate, admin-token. */
export function registerServeCommands(program: Command): void {
  const withServerFlags = (cmd: Command) =>
    cmd
      .option('-p, --port <port>', 'port to listen on (env PORT, default 8080)', intOption('--port', 0, 65535))
      .option('--host <host>', 'address to bind (env HOST; default 127.0.0.1 for start, 0.0.0.0 for serve; 0.0.0.0 is every interface)')
      .option('-d, --data-dir <dir>', 'data directory for the SQLite store and key file (env TOLLGATE_DATA_DIR, default ./data)')
      .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env TOLLGATE_LOG_LEVEL)')
      .addOption(
        new Option('-c, --config <file>', 'apply this config file (YAML or JSON) before serving; what it does not name is kept')
          .env('TOLLGATE_CONFIG_FILE'),
      );

  withServerFlags(program.command('start'))
    .description('run the gateway and console in one process on the embedded SQLite store, serving every instance')
    .option('--demo', 'on an empty data directory, seed a demo resource, simulated model, gateway and project')
    .action(async (flags: ServeFlags) => {
      const settings = await serverSettingsFrom(flags, { host: START_HOST });
      const tollgate = await (await server()).createTollgate({ settings, served: 'all' });
      const demoKey = flags.demo ? await seedDemo(tollgate.store, tollgate.service) : null;
      if (flags.config) await applyConfigFile(tollgate, flags.config);
      const address = await listenOrExplain(tollgate, settings);
      printBanner(tollgate, settings, address, demoKey);
      stopOnSignals(tollgate);
    });

  withServerFlags(program.command('serve'))
    .description('run one gateway node of an instance (a pool of nodes)')
    .requiredOption('-i, --instance <name>', 'the instance this node joins')
    .action(async (flags: ServeFlags & { instance: string }) => {
      const settings = await serverSettingsFrom(flags);
      const tollgate = await (await server()).createTollgate({ settings, served: new Set([flags.instance]) });
      if (!(await tollgate.store.findInstance(flags.instance))) {
        // Nodes of a new instance register it; one started at the same moment may win the race.
        await tollgate.service.instances.create({ ...SYSTEM_PRINCIPAL, name: `node:${flags.instance}` }, flags.instance).catch((err: unknown) => {
          if ((err as { code?: string }).code !== 'already_exists') throw err;
        });
      }
      if (flags.config) await applyConfigFile(tollgate, flags.config);
      const address = await listenOrExplain(tollgate, settings);
      process.stdout.write(`Tollgate node of instance "${flags.instance}" listening on ${address}\n`);
      if (tollgate.generatedAdminToken) process.stdout.write(`Owner admin token (shown once): ${tollgate.generatedAdminToken}\n`);
      stopOnSignals(tollgate);
    });

  program
    .command('migrate')
    .description('apply pending store migrations and exit (PostgreSQL with DATABASE_URL, else SQLite in the data directory)')
    .option('-d, --data-dir <dir>', 'data directory (env TOLLGATE_DATA_DIR, default ./data)')
    .action(async (flags: ServeFlags) => {
      const settings = settingsFrom(flags);
      const { openConfiguredStore, describeStore } = await storeModule();
      const store = await openConfiguredStore(settings);
      await store.migrate();
      await store.close();
      process.stdout.write(`store ${describeStore(settings)} is up to date\n`);
    });

  const adminToken = program.command('admin-token').description('manage admin tokens directly in the data directory (recovery)');
  adminToken
    .command('create')
    .description('create an admin token in the store without the API, e.g. when the owner token is lost')
    .option('-d, --data-dir <dir>', 'data directory (env TOLLGATE_DATA_DIR, default ./data)')
    .option('--name <name>', 'a name to tell the token apart', 'cli')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'owner')
    .action(async (flags: ServeFlags & { name: string; role: string }) => {
      if (!ROLES.includes(flags.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const settings = settingsFrom(flags);
      const store = await (await storeModule()).openConfiguredStore(settings);
      const { createAdminTokenDirectly } = await import('../server/bootstrap.js');
      try {
        await store.migrate();
        const token = await createAdminTokenDirectly(store, flags.name, flags.role as Role);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`created ${flags.role} admin token "${flags.name}"; it is shown only this once\n`);
      } finally {
        await store.close();
      }
    });
}

/**
 * Applies a config file at start-up, as `tollgate config apply` would (without pruning). Nodes of
 * a cluster starting together apply the same file at once: one that loses a race to another
 * plans again (ConfigService.apply), and finds less or nothing left to do.
 */
async function applyConfigFile(tollgate: Tollgate, file: string): Promise<void> {
  const { readConfigDocument } = await import('../controlplane/config/config-file.js');
  let doc;
  try {
    doc = await readConfigDocument(file, process.env);
  } catch (err) {
    throw new Error(`${(err as Error).message.startsWith(file) ? '' : `${file}: `}${(err as Error).message}`);
  }
  const actor = { ...SYSTEM_PRINCIPAL, name: 'config-file' };
  const result = await tollgate.config.apply(actor, doc, { dryRun: false, prune: false }).catch((err: unknown) => {
    throw new Error(`config ${file}: ${(err as Error).message}`);
  });
  const lines = [`config ${file}: ${result.changes.length === 0 ? 'no changes' : `${result.changes.length} change(s) applied`}`];
  for (const c of result.changes) lines.push(`  ${c.action} ${c.target}${c.fields ? ` (${c.fields.join(', ')})` : ''}`);
  for (const k of result.keys) lines.push(`  project key of ${k.resource}/${k.project} (shown once): primary ${k.primary} secondary ${k.secondary}`);
  process.stdout.write(lines.join('\n') + '\n');
}

/**
 * Listens, or says in words why it cannot: a port in use is most often a Tollgate already
 * running (a second `npm start`), not a crash to read a stack trace of.
 */
async function listenOrExplain(tollgate: Tollgate, settings: Settings): Promise<string> {
  try {
    return await tollgate.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw err;
    await tollgate.close().catch(() => {});
    const where = `${settings.host}:${settings.port}`;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `port ${settings.port} on ${settings.host} is already in use — is Tollgate (or another program) already running there? ` +
          `Stop it, or start on another port: --port ${settings.port + 1} (or PORT=${settings.port + 1})`,
      );
    }
    if (code === 'EACCES') throw new Error(`not allowed to listen on ${where} (ports below 1024 need privileges): choose another with --port or PORT`);
    throw new Error(`cannot listen on ${where}: no such address on this machine; choose another with --host or HOST`);
  }
}

function printBanner(tollgate: Tollgate, settings: Settings, address: string, demoKey: string | null): void {
  const everywhere = settings.host === '0.0.0.0' || settings.host === '::';
  const url = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  const lines = [
    '',
    `Tollgate is running at ${url}${everywhere ? ' (listening on every interface)' : ` (only this machine: --host 0.0.0.0 to listen on every interface)`}`,
    `  console: ${url}/console (sign in with the admin token)`,
    `  data directory: ${settings.dataDir}`,
  ];
  if (tollgate.generatedAdminToken) lines.push(`  admin token (owner, shown once): ${tollgate.generatedAdminToken}`);
  else if (settings.adminToken) lines.push('  admin token: the value of TOLLGATE_ADMIN_TOKEN');
  if (demoKey) {
    lines.push(
      `  demo: resource "${DEMO.resource}", deployment "${DEMO.deployment}" (simulated), gateway "${DEMO.gateway}", project "${DEMO.project}"`,
      `  project key (shown once): ${demoKey}`,
      '',
      'Try it:',
      `  curl -s ${url}/openai/v1/chat/completions -H "Authorization: Bearer ${demoKey}" -H "Content-Type: application/json" \\`,
      `    -d '{"model": "${DEMO.deployment}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
    );
  } else {
    lines.push('  (existing data: keys were shown when created; `tollgate keys regenerate` issues a new one)');
  }
  process.stdout.write(lines.join('\n') + '\n\n');
}

/**
 * A graceful stop on SIGTERM or SIGINT: in-flight requests finish (up to TOLLGATE_SHUTDOWN_GRACE_MS),
 * the ledger and the final limiter counters are written, then the process exits 0 — or 1, saying
 * what could not be written. A second signal exits at once.
 */
function stopOnSignals(tollgate: Tollgate): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without finishing the shutdown\n`);
      process.exit(130);
    }
    stopping = true;
    tollgate.logger.info({ signal }, 'shutting down');
    tollgate.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
