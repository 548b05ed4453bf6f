import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DATA_HOME } from '../../src/embedded/embedded-server.js';
import type { HealthReport } from '../../src/ops/health.js';
import { TIER_NAMES } from '../../src/types.js';
import { exitCode, freePort, spawnCli, waitForOutput } from '../helpers/processes.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.warn('[first run as root] skipped: the suite does not run as root');

/**
 * What a new user gets in a container: root, a checkout inside a folder only root can enter
 * (like /root), `npm ci && npm start`, no setting at all. The embedded server runs as the
 * `postgres` user, which can enter neither the checkout nor node_modules in it.
 */
describe.skipIf(!asRoot)('first run as root from a folder only root can enter', () => {
  let privateDir: string;
  let checkout: string;
  const movedData: string[] = [];
  beforeAll(() => {
    privateDir = mkdtempSync(join(tmpdir(), 'fivetier-root-only-')); // mode 0700, root's
    checkout = join(privateDir, 'checkout');
    // The sources, and node_modules as hard links (a copy in effect, in a fraction of a
    // second): a symlink would let module resolution find the packages at their reachable path.
    cpSync('package.json', join(checkout, 'package.json'));
    cpSync('src', join(checkout, 'src'), { recursive: true });
    cpSync('schemas', join(checkout, 'schemas'), { recursive: true });
    execFileSync('cp', ['-al', 'node_modules', join(checkout, 'node_modules')]);
  });
  afterAll(() => {
    rmSync(privateDir, { recursive: true, force: true });
    for (const d of movedData) rmSync(d, { recursive: true, force: true });
    try {
      rmdirSync(ROOT_DATA_HOME); // only if nothing else lives there
    } catch {
      // not empty, or gone: leave it
    }
  });

  it('`fivetier start` with no setting serves /health with all five tiers up', async () => {
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const env = { FIVETIER_EMBEDDED_PORT: String(await freePort()), FIVETIER_HTTP_PORT: String(await freePort()) };
    const child = spawnCli(['start'], env, { cwd: checkout });
    try {
      await waitForOutput(child, /listening on/, 110_000);
      const moved = /the embedded data lives in (\S+) instead/.exec(child.output())?.[1];
      expect(moved, child.output()).toBeDefined();
      movedData.push(moved!);
      expect(moved!.startsWith(`${ROOT_DATA_HOME}/checkout-`)).toBe(true);
      const report = (await (await fetch(`http://127.0.0.1:${env.FIVETIER_HTTP_PORT}/health`)).json()) as HealthReport;
      for (const tier of TIER_NAMES) expect(report.tiers[tier].status, tier).toBe('up');
      expect(report.status).toBe('up');
    } finally {
      child.kill('SIGTERM');
      expect(await exitCode(child)).toBe(0);
    }
  }, 180_000);

  it('a data folder set to a place the postgres user cannot enter stops start-up with a message and exit code 1', async () => {
    const dataDir = join(privateDir, 'data');
    const child = spawnCli(['start'], { FIVETIER_DATA_DIR: dataDir, FIVETIER_EMBEDDED_PORT: String(await freePort()), FIVETIER_HTTP_PORT: String(await freePort()) }, { cwd: checkout });
    expect(await exitCode(child)).toBe(1);
    expect(child.output()).toMatch(/^fivetier: the embedded PostgreSQL could not start: the postgres user cannot enter .*set FIVETIER_DATA_DIR to a folder it can reach/m);
    expect(child.output()).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dataDir, 'pg'))).toBe(false);
  });
});
