import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { withoutName } from '../../src/tiers/tracked-client.js';
import { ROLES } from '../../src/types.js';
import { freePort } from './processes.js';

/**
 * A PgBouncer the test starts itself (Debian package `pgbouncer`), in front of the test's
 * PostgreSQL server, with its own configuration in a temporary directory and a free port.
 */
export interface PgBouncer {
  port: number;
  /** `url` with its host and port replaced by PgBouncer's (same database, user and password). */
  through(url: string): string;
  /** The lines PgBouncer logged so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per (database, user) pair. 1 makes every client of a role share one session, so any state left on it reaches the next client. */
  poolSize?: number;
}

const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];

/** Path of the pgbouncer binary, or undefined when it is not installed. */
export function pgbouncerBinary(): string | undefined {
  for (const b of BINARIES) {
    try {
      accessSync(b, constants.X_OK);
      return b;
    } catch {
      // next
    }
  }
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : undefined;
}

/** Why PgBouncer tests skip on this machine, or undefined when they can run. */
export function pgbouncerMissing(): string | undefined {
  return pgbouncerBinary() ? undefined : 'pgbouncer is not installed (apt-get install -y pgbouncer); the PgBouncer runs are skipped';
}

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** The uid and gid of `user`, from /etc/passwd via `id`. */
function idsOf(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Start PgBouncer with `pool_mode = transaction` in front of the server of `adminUrl`, for the
 * admin user and fivetier's login roles (`rolePassword`, or trust when the server trusts).
 * PgBouncer refuses to run as root, so as root it runs as the `postgres` user (`-u`).
 */
export async function startPgBouncer(adminUrl: string, rolePassword: string | undefined, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error(pgbouncerMissing());
  const upstream = new URL(adminUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fivetier-pgbouncer-'));
  const runAs = process.getuid?.() === 0 ? idsOf('postgres') : undefined;
  if (process.getuid?.() === 0 && !runAs) throw new Error('pgbouncer will not run as root and there is no postgres user to run it as');

  const users: Array<[string, string]> = [[decodeURIComponent(upstream.username || 'postgres'), decodeURIComponent(upstream.password)]];
  for (const role of [ROLES.app, ROLES.worker, ROLES.maintenance]) users.push([role, rolePassword ?? '']);
  // why: md5 refuses a user whose password is empty (the admin of a trust server): PgBouncer
  // checks passwords only when every user has one, as a server that asks for them does
  const withPasswords = users.every(([, p]) => p !== '');
  const userlist = join(dir, 'userlist.txt');
  // why: the file may hold the roles' password; only PgBouncer's user may read it
  writeFileSync(userlist, users.map(([u, p]) => `${quote(u)} ${quote(p)}\n`).join(''), { mode: 0o600 });
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      // every database of the upstream server, under its own name
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `auth_type = ${withPasswords ? 'md5' : 'trust'}`,
      `auth_file = ${userlist}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 1}`,
      'max_client_conn = 500',
      // why: in transaction mode PgBouncer resets nothing between clients; the library must
      'server_reset_query =',
      'ignore_startup_parameters = extra_float_digits',
      'logfile =',
      'pidfile =',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  if (runAs) {
    chmodSync(dir, 0o755);
    chownSync(userlist, runAs.uid, runAs.gid);
  }

  let output = '';
  const child: ChildProcess = spawn(binary, runAs ? ['-u', 'postgres', ini] : [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };

  // Wait until it accepts connections (it binds its port at start-up).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer exited at start-up:\n${output}`);
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not listen on 127.0.0.1:${port} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    port,
    through: (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log: () => output,
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A pg.Client that sends every query unnamed, as a TierClient does with `namedStatements: 0`:
 * for a test's own connections through a PgBouncer that does not carry prepared statements.
 */
export class UnnamedStatementClient extends pg.Client {
  override query(...args: unknown[]): never {
    args[0] = withoutName(args[0]);
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}
