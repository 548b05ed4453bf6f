import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { format, inspect } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedServer } from '../../src/embedded/embedded-server.js';
import { openFivetier } from '../../src/platform.js';
import { TIER_NAMES } from '../../src/types.js';
import { testConfig } from '../helpers/platform.js';
import { exitCode, freePort, spawnCli, type TestChild } from '../helpers/processes.js';
import { TEST_SERVER_DATA_DIR, testServerLogFiles } from '../helpers/servers.js';

/** Every file under `dir` (not following links), skipping folders named in `skip`. */
function filesUnder(dir: string, skip: (name: string) => boolean = () => false): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (skip(name)) return [];
    const stat = lstatSync(path);
    return stat.isDirectory() ? [path, ...filesUnder(path, skip)] : stat.isFile() ? [path] : [];
  });
}

const run = async (child: TestChild) => ({ code: await exitCode(child), out: child.output() });

/**
 * Issue 7 finding 6: no password of fivetier's, neither the superuser's of the embedded server
 * nor the login roles', in a server log, the data folder, a temporary file others can read, an
 * error message, or the printed form of the platform.
 */
describe('secrets stay secret', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fivetier-secrets-'));
  const watchedTmp = mkdtempSync(join(tmpdir(), 'fivetier-secrets-tmp-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(watchedTmp, { recursive: true, force: true });
  });

  it('on a first embedded start and migrate: no readable password file at any moment, none in the server log (every statement logged), the data folder or any message', async () => {
    const port = String(await freePort());
    // Everything the child creates in its temp folder and in the data folder, as first seen:
    // kind and mode (the programs' folder, made as root only, is public on purpose).
    const seen = new Map<string, string>();
    const watchers = [watchedTmp, dataDir].map((dir) =>
      watch(dir, (_event, name) => {
        const path = name ? join(dir, name) : '';
        // tsx (which runs the CLI from source in these tests) keeps its compile cache in TMPDIR
        if (!name || name === basename(dir) || seen.has(path) || name.startsWith('postgres-1') || name.startsWith('tsx-')) return;
        try {
          const stat = lstatSync(path);
          seen.set(path, `${stat.isDirectory() ? 'dir' : 'file'} ${(stat.mode & 0o777).toString(8)}`);
        } catch {
          seen.set(path, 'gone before it could be looked at');
        }
      }),
    );
    // log_statement=all: the server logs every statement the migrator sends, passwords included if any.
    const env = { FIVETIER_DATA_DIR: dataDir, FIVETIER_EMBEDDED_PORT: port, TMPDIR: watchedTmp, PGOPTIONS: '-c log_statement=all' };
    const outputs: string[] = [];
    try {
      const first = await run(spawnCli(['migrate'], env));
      outputs.push(first.out);
      expect(first.code, first.out).toBe(0);
    } finally {
      for (const w of watchers) w.close();
    }
    for (const [path, what] of seen) {
      // A secrets file is written under a private draft name (created 0600, exclusively), linked
      // into place and the draft removed: a draft can be gone before the watcher looks. It was the
      // same file as the one it became, whose mode the watcher did see.
      const draftOf = /^(.*)\.\d+\.[0-9a-f]{8}$/.exec(path)?.[1];
      if (what.startsWith('gone') && draftOf && seen.has(draftOf)) expect(`${draftOf}: ${seen.get(draftOf)}`).toMatch(/: file 600$/);
      else expect(`${path}: ${what}`).toMatch(/: (dir 7[01]0|file 600)$/);
    }
    expect([...seen.keys()].some((p) => /initdb-/.test(p)), "the folder of initdb's password file was seen").toBe(true);

    // The role passwords went in as SCRAM verifiers: the runtime roles log in with the password.
    const status = await run(spawnCli(['status'], { FIVETIER_DATA_DIR: dataDir, FIVETIER_EMBEDDED_PORT: port }));
    outputs.push(status.out);
    expect(status.code, status.out).toBe(0);
    // Two migrators at once on one server, as in the collision that logged `alter role …
    // password` before. The server is held up here: an embedded server stops with the process
    // that started it, so it must not be one of the two.
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; rolePassword: string };
    const server = await startEmbeddedServer({ dataDir, port: Number(port), databases: [], settings: ['-c', 'log_statement=all'] });
    try {
      const urls = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, server.urlFor(`penguinmails_${t}`)]));
      const pairEnv = { ...urls, FIVETIER_ROLE_PASSWORD: secrets.rolePassword };
      const pair = await Promise.all([run(spawnCli(['migrate'], pairEnv)), run(spawnCli(['migrate'], pairEnv))]);
      for (const p of pair) {
        outputs.push(p.out);
        expect(p.code, p.out).toBe(0);
      }
    } finally {
      await server.stop();
    }
    // Failures that carry the superuser's password in their settings.
    const closed = await freePort();
    const allTiers = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, `postgresql://postgres:${secrets.adminPassword}@127.0.0.1:${closed}/penguinmails_${t}`]));
    const failing: [string, Record<string, string>][] = [
      ['status', { OLTP_DB_URL: `postgresql://postgres:${secrets.adminPassword}@127.0.0.1:99999/penguinmails_oltp` }],
      ['status', allTiers],
      ['migrate', allTiers],
      // The right server, the wrong role password: every tier refuses the runtime login.
      ['status', { OLTP_DB_URL: `postgresql://postgres:${secrets.adminPassword}@127.0.0.1:${port}/penguinmails_oltp`, FIVETIER_ROLE_PASSWORD: 'wrong', FIVETIER_EMBEDDED_TIERS: 'content,olap,notifications', FIVETIER_DATA_DIR: dataDir, FIVETIER_EMBEDDED_PORT: port }],
    ];
    for (const [command, failEnv] of failing) {
      const r = await run(spawnCli([command], failEnv));
      expect(r.code, r.out).not.toBe(0);
      outputs.push(r.out);
    }

    const passwords = [secrets.adminPassword, secrets.rolePassword, inject('rolePassword')].filter(Boolean);
    const places: [string, string][] = outputs.map((o, i) => [`output ${i}`, o]);
    // The data folder, the server's log included; not the secrets file itself, nor the programs.
    for (const file of filesUnder(dataDir, (name) => name.startsWith('postgres-18') || name.startsWith('postgres-1'))) {
      if (file.endsWith('secrets.json') || lstatSync(file).isDirectory()) continue;
      places.push([file, readFileSync(file).toString('latin1')]);
    }
    expect(readFileSync(join(dataDir, 'postgres.log'), 'utf8')).toMatch(/statement: alter role fivetier_app password 'SCRAM-SHA-256\$/);
    // The test run's own server logs, where this process can read them.
    const testServerSecrets = join(TEST_SERVER_DATA_DIR, 'secrets.json');
    if (existsSync(testServerSecrets)) passwords.push(...Object.values(JSON.parse(readFileSync(testServerSecrets, 'utf8')) as Record<string, string>));
    for (const log of testServerLogFiles()) {
      try {
        places.push([log, readFileSync(log, 'latin1')]);
      } catch {
        // not there, or not readable by this user
      }
    }
    for (const [where, text] of places) {
      for (const password of passwords) expect(text.includes(password), `a password in ${where}`).toBe(false);
    }
  }, 180_000);

  it('keeps the data folder private: the secrets, the log and the cluster readable by their owner only', () => {
    const mode = (p: string) => lstatSync(p).mode & 0o777;
    expect(mode(join(dataDir, 'secrets.json'))).toBe(0o600);
    expect(mode(join(dataDir, 'postgres.log'))).toBe(0o600);
    expect(mode(join(dataDir, 'pg'))).toBe(0o700);
    expect(mode(dataDir) & 0o066).toBe(0); // at most "others may pass through", for the postgres user under root
    for (const file of filesUnder(dataDir, (name) => name.startsWith('postgres-1'))) {
      expect(`${file} ${(mode(file) & 0o044).toString(8)}`).toBe(`${file} 0`);
    }
  });

  it('prints no password from the platform object, its configuration or its tier clients', async () => {
    const urls = inject('tierUrls');
    // The test server trusts local logins, so passwords in the URLs are carried but not needed.
    const withPassword = (url: string) => Object.assign(new URL(url), { username: 'postgres', password: 'S3cr3tAdmin' }).toString();
    const ft = await openFivetier({
      config: testConfig({ tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: withPassword(urls[t]) }])), redisUrl: 'redis://:S3cr3tRedis@127.0.0.1:6379', rolePassword: 'S3cr3tRole' }),
      migrate: false,
    });
    try {
      const shown = [
        inspect(ft, { depth: Infinity, showHidden: true }),
        format('%o %O %s %j', ft, ft, ft, ft),
        JSON.stringify(ft),
        inspect(ft.oltp, { depth: Infinity, showHidden: true }),
        JSON.stringify(ft.tiers),
        inspect(ft.config, { depth: Infinity }),
      ];
      for (const s of shown) expect(s).not.toMatch(/S3cr3t/);
      expect(inspect(ft, { depth: Infinity })).toContain('postgres:***@');
      // What callers need is still there.
      expect(ft.adminUrl('oltp')).toContain('S3cr3tAdmin');
      expect((await ft.oltp.health()).status).toBe('up');
    } finally {
      await ft.close();
    }
  });
});
