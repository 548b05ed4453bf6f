import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startEmbeddedServer } from '../../src/embedded/embedded-server.js';
import { TIER_NAMES } from '../../src/types.js';
import { exitCode, freePort, spawnCli } from '../helpers/processes.js';

/** A fresh folder for an embedded server's data, removed by `done`. */
function scratchDataDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fivetier-cli-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('fivetier CLI', () => {
  it.each([
    [['start'], { OLTP_DB_URL: 'not-a-url' }, /fivetier: OLTP_DB_URL: not a URL/],
    [['migrate'], { FIVETIER_HTTP_PORT: 'eighty' }, /fivetier: FIVETIER_HTTP_PORT: must be a whole number/],
    [['status'], { CONTENT_POOL_MAXX: '5' }, /fivetier: CONTENT_POOL_MAXX is not a fivetier setting/],
    [['no-such-command'], {}, /unknown command 'no-such-command'/],
    [['start', '--no-such-option'], {}, /unknown option '--no-such-option'/],
    [['status', '--bogus'], {}, /unknown option '--bogus'/],
    [['queue', 'stats', '--bogus'], {}, /unknown option '--bogus'/],
    [['migrate', 'extra'], {}, /too many arguments for 'migrate'/],
    [['start'], { OLTP_DB_URL: 'postgresql://127.0.0.1:1/penguinmails_oltp' }, /fivetier: CONTENT_DB_URL: not set, while other tiers have URLs; set it, or add content to FIVETIER_EMBEDDED_TIERS/],
  ])('%o with %o exits 2 with a message naming the problem', async (args, env, message) => {
    const child = spawnCli(args, env);
    expect(await exitCode(child)).toBe(2);
    expect(child.output()).toMatch(message);
    expect(child.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('never prints the password of a malformed tier URL', async () => {
    const child = spawnCli(['status'], { OLTP_DB_URL: 'postgresql://admin:S3cr3t@host:99999/db' });
    expect(await exitCode(child)).toBe(2);
    expect(child.output()).toMatch(/fivetier: OLTP_DB_URL: not a URL: "postgresql:\/\/admin:\*\*\*@host:99999\/db"/);
    expect(child.output()).not.toContain('S3cr3t');
  });

  it('an embedded server that cannot start (its port is taken) ends start-up with a message and exit code 1', async () => {
    const data = scratchDataDir();
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      const port = (taken.address() as { port: number }).port;
      const child = spawnCli(['start'], { FIVETIER_DATA_DIR: data.dir, FIVETIER_EMBEDDED_PORT: String(port), FIVETIER_HTTP_PORT: String(await freePort()) });
      expect(await exitCode(child)).toBe(1);
      expect(child.output()).toMatch(/^fivetier: the embedded PostgreSQL could not start: postgres exited \(exit code 1\) while starting; see its log \[FT_ERR_EMBEDDED_START\]$/m);
      expect(child.output()).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
      data.done();
    }
  }, 60_000);
});

describe('fivetier start', () => {
  it('an HTTP port that is taken ends start-up with a message and exit code 1, not a stack trace', async () => {
    const urls = inject('tierUrls');
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      const env = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, urls[t]]));
      const child = spawnCli(['start'], { ...env, FIVETIER_HTTP_PORT: String((taken.address() as { port: number }).port) });
      expect(await exitCode(child)).toBe(1);
      expect(child.output()).toMatch(/^fivetier: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+ \[EADDRINUSE\]$/m);
      expect(child.output()).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });
});

describe('fivetier status', () => {
  it('exits 1 and says which tier is down when one is', async () => {
    const urls = inject('tierUrls');
    const dead = new URL(urls.olap);
    dead.port = String(await freePort());
    const child = spawnCli(['status'], {
      OLTP_DB_URL: urls.oltp,
      CONTENT_DB_URL: urls.content,
      OLAP_DB_URL: dead.toString(),
      QUEUE_DB_URL: urls.queue,
      NOTIFICATIONS_DB_URL: urls.notifications,
    });
    expect(await exitCode(child)).toBe(1);
    expect(child.output()).toMatch(/olap\s+down/);
    expect(child.output()).toMatch(/oltp\s+up/);
    expect(child.output()).toMatch(/overall: degraded/);
  });

  it('says "not migrated" for a fresh embedded tier before `fivetier migrate`, not a login error', async () => {
    const data = scratchDataDir();
    try {
      const child = spawnCli(['status'], { FIVETIER_DATA_DIR: data.dir, FIVETIER_EMBEDDED_PORT: String(await freePort()) });
      expect(await exitCode(child)).toBe(1);
      for (const tier of TIER_NAMES) expect(child.output()).toMatch(new RegExp(`${tier}\\s+down\\s+not migrated: run fivetier migrate \\(embedded\\)`));
      expect(child.output()).not.toMatch(/password authentication failed/);
    } finally {
      data.done();
    }
  }, 60_000);
});

describe("the seed's environment (four tier URLs and Redis, no QUEUE_DB_URL)", () => {
  it('keeps the queue store in its own database on the OLTP server, created by the migrator; nothing runs embedded', async () => {
    // A password-protected server of its own stands in for the deployment's servers.
    const serverData = scratchDataDir();
    const embeddedData = scratchDataDir();
    const server = await startEmbeddedServer({ dataDir: serverData.dir, port: await freePort(), databases: ['seed_oltp', 'seed_content', 'seed_olap', 'seed_notifications'] });
    try {
      const env = {
        OLTP_DB_URL: server.urlFor('seed_oltp'),
        CONTENT_DB_URL: server.urlFor('seed_content'),
        OLAP_DB_URL: server.urlFor('seed_olap'),
        NOTIFICATIONS_DB_URL: server.urlFor('seed_notifications'),
        QUEUE_REDIS_URL: 'redis://127.0.0.1:6379',
        FIVETIER_ROLE_PASSWORD: server.rolePassword,
        FIVETIER_DATA_DIR: embeddedData.dir, // must stay untouched
      };
      const migrate = spawnCli(['migrate'], env);
      expect(await exitCode(migrate), migrate.output()).toBe(0);
      expect(migrate.output()).toMatch(/queue: applied 0001_/);
      expect(migrate.output()).not.toMatch(/embedded PostgreSQL/);

      const admin = new pg.Client({ connectionString: server.urlFor('postgres') });
      await admin.connect();
      const { rows } = await admin.query("select count(*)::int as n from pg_database where datname = 'penguinmails_queue'");
      await admin.end();
      expect(rows[0].n).toBe(1);

      const status = spawnCli(['status'], env);
      expect(await exitCode(status), status.output()).toBe(0);
      expect(status.output()).toMatch(/queue\s+up\s+[\d.]+ ms \(on the OLTP server\)/);
      expect(status.output()).not.toMatch(/embedded/);
      expect(readdirSync(embeddedData.dir)).toEqual([]);
    } finally {
      await server.stop();
      serverData.done();
      embeddedData.done();
    }
  }, 120_000);
});
