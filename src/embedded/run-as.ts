import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FivetierError } from '../errors/codes.js';

/** The user the server's processes run as: none (this process's own) unless we are root. */
export interface ServerUser {
  uid: number;
  gid: number;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user,
 * created (as a system user without a home or login) if missing. Undefined when not root.
 */
export function serverUser(): ServerUser | undefined {
  if (!isRoot()) return undefined;
  try {
    return { uid: idOf('-u'), gid: idOf('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/bin/false', 'postgres'], { stdio: 'ignore' });
      return { uid: idOf('-u'), gid: idOf('-g') };
    } catch (err) {
      throw new FivetierError('FT_ERR_EMBEDDED_START', [
        `running as root, the server must run as the postgres user, which does not exist and could not be created (${(err as Error).message.split('\n')[0]})`,
      ]);
    }
  }
}

/**
 * True when a user other than the owner can reach `path`: every existing folder on the way has
 * the "others may enter" bit. (Ownership by that user or group membership is not considered:
 * this is for root-owned checkouts, where neither applies.)
 */
export function othersCanReach(path: string): boolean {
  for (let d = path; ; d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0 && statSync(d).isDirectory()) return false;
    if (d === dirname(d)) return true;
  }
}
