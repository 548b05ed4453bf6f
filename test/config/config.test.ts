import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { embeddedTiers, loadConfig } from '../../src/config/config.js';
import { POOL_DEFAULTS } from '../../src/config/defaults.js';
import { FivetierError } from '../../src/errors/codes.js';

describe('loadConfig', () => {
  it('takes the seed pool settings by default and embeds every tier without a URL', () => {
    const config = loadConfig({});
    expect(config.tiers.oltp.pool).toEqual({ max: 100, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 30_000, namedStatements: 1 });
    expect(config.tiers.content.pool.max).toBe(50);
    expect(config.tiers.content.pool.idleTimeoutMillis).toBe(60_000);
    expect(config.tiers.olap.pool.max).toBe(20);
    expect(config.tiers.olap.pool.idleTimeoutMillis).toBe(120_000);
    expect(embeddedTiers(config)).toEqual(['oltp', 'content', 'olap', 'queue', 'notifications']);
    expect(config.redisUrl).toBeUndefined();
    expect(Object.isFrozen(config) && Object.isFrozen(config.tiers.oltp.pool)).toBe(true);
  });

  it('turns named statements off per tier (for PgBouncer in transaction mode), and takes only 0 or 1', () => {
    expect(loadConfig({ OLTP_NAMED_STATEMENTS: '0' }).tiers.oltp.pool.namedStatements).toBe(0);
    expect(loadConfig({ OLTP_NAMED_STATEMENTS: '0' }).tiers.content.pool.namedStatements).toBe(1);
    expect(() => loadConfig({ CONTENT_NAMED_STATEMENTS: '2' })).toThrow(/CONTENT_NAMED_STATEMENTS.*0 to 1/);
  });

  it('reads the seed environment variables and pool overrides', () => {
    const config = loadConfig({
      OLTP_DB_URL: 'postgresql://localhost:5432/penguinmails_oltp',
      CONTENT_DB_URL: 'postgresql://localhost:5433/penguinmails_content',
      OLAP_DB_URL: 'postgresql://localhost:5434/penguinmails_olap',
      NOTIFICATIONS_DB_URL: 'postgresql://localhost:5435/penguinmails_notifications',
      QUEUE_DB_URL: 'postgresql://localhost:5436/penguinmails_queue',
      QUEUE_REDIS_URL: 'redis://localhost:6379',
      OLTP_POOL_MAX: '12',
      OLAP_STATEMENT_TIMEOUT_MS: '5000',
      UNRELATED_VARIABLE: 'ignored',
    });
    expect(config.tiers.oltp.url).toBe('postgresql://localhost:5432/penguinmails_oltp');
    expect(config.tiers.queue.url).toBe('postgresql://localhost:5436/penguinmails_queue');
    expect(config.tiers.oltp.pool.max).toBe(12);
    expect(config.tiers.olap.pool.statementTimeoutMillis).toBe(5000);
    expect(config.redisUrl).toBe('redis://localhost:6379');
    expect(embeddedTiers(config)).toEqual([]);
    expect(POOL_DEFAULTS.oltp.max).toBe(100);
  });

  // The seed's exact environment: four tier URLs and Redis, no QUEUE_DB_URL.
  const seedEnv = {
    OLTP_DB_URL: 'postgresql://app:pw@localhost:5432/penguinmails_oltp?sslmode=prefer',
    CONTENT_DB_URL: 'postgresql://localhost:5433/penguinmails_content',
    OLAP_DB_URL: 'postgresql://localhost:5434/penguinmails_olap',
    NOTIFICATIONS_DB_URL: 'postgresql://localhost:5435/penguinmails_notifications',
    QUEUE_REDIS_URL: 'redis://localhost:6379',
  };

  it("puts the queue store in its own database on the OLTP server when QUEUE_DB_URL is not set, never on the embedded server", () => {
    const config = loadConfig(seedEnv);
    expect(embeddedTiers(config)).toEqual([]);
    expect(config.tiers.queue.url).toBe('postgresql://app:pw@localhost:5432/penguinmails_queue?sslmode=prefer');
    expect(config.tiers.queue.urlFrom).toBe('oltp-server');
    expect(config.tiers.oltp.urlFrom).toBe('setting');
  });

  it.each(['CONTENT', 'OLAP', 'NOTIFICATIONS', 'OLTP'])('stops at a missing %s_DB_URL once another tier has a URL, naming the variable', (tier) => {
    const env: Record<string, string> = { ...seedEnv };
    delete env[`${tier}_DB_URL`];
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${tier}_DB_URL: not set, while other tiers have URLs.*FIVETIER_EMBEDDED_TIERS`));
  });

  it('runs a tier embedded beside URL tiers only when FIVETIER_EMBEDDED_TIERS says so', () => {
    const config = loadConfig({ OLTP_DB_URL: seedEnv.OLTP_DB_URL, CONTENT_DB_URL: seedEnv.CONTENT_DB_URL, FIVETIER_EMBEDDED_TIERS: 'olap, notifications' });
    expect(embeddedTiers(config)).toEqual(['olap', 'notifications']);
    expect(config.tiers.queue.urlFrom).toBe('oltp-server');
    const queueToo = loadConfig({ CONTENT_DB_URL: seedEnv.CONTENT_DB_URL, FIVETIER_EMBEDDED_TIERS: 'oltp,olap,notifications' });
    expect(embeddedTiers(queueToo)).toEqual(['oltp', 'olap', 'queue', 'notifications']);
    const override = loadConfig({}, { tiers: { oltp: { url: seedEnv.OLTP_DB_URL } }, embeddedTiers: ['content', 'olap', 'notifications'] });
    expect(embeddedTiers(override)).toEqual(['content', 'olap', 'notifications']);
    expect(() => loadConfig({ ...seedEnv, FIVETIER_EMBEDDED_TIERS: 'olap' })).toThrow(/FIVETIER_EMBEDDED_TIERS: lists olap, which has a URL \(OLAP_DB_URL\)/);
    expect(() => loadConfig({ FIVETIER_EMBEDDED_TIERS: 'oltp,cache' })).toThrow(/FIVETIER_EMBEDDED_TIERS: "cache" is not a tier/);
  });

  it.each([
    ['postgresql://admin:S3cr3t@host:99999/db', /OLTP_DB_URL: not a URL: "postgresql:\/\/admin:\*\*\*@host:99999\/db"/],
    ['postgresql://admin:S3cr3t@ho st/db', /OLTP_DB_URL: not a URL/],
    ['admin:S3cr3t@host:99999/db', /OLTP_DB_URL: /],
    ['postgres://admin:p@S3cr3t@[::1/db', /OLTP_DB_URL: not a URL/],
  ])('never echoes the password of a malformed URL (%s)', (value, message) => {
    const err = (() => {
      try {
        loadConfig({ OLTP_DB_URL: value });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(FivetierError);
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('S3cr3t');
  });

  it('keeps passwords out of the printed and JSON forms of the configuration', () => {
    const config = loadConfig({ ...seedEnv, OLTP_DB_URL: 'postgresql://admin:S3cr3tOltp@localhost/penguinmails_oltp', QUEUE_REDIS_URL: 'redis://:S3cr3tRedis@localhost:6379', FIVETIER_ROLE_PASSWORD: 'S3cr3tRole' });
    for (const shown of [inspect(config, { depth: 10 }), JSON.stringify(config), inspect(config.tiers.oltp), JSON.stringify(config.tiers.queue), `${JSON.stringify({ config })}`]) {
      expect(shown).not.toMatch(/S3cr3t/);
    }
    expect(inspect(config, { depth: 10 })).toContain('postgresql://admin:***@localhost/penguinmails_oltp');
    // The values themselves are intact for the code that connects.
    expect(config.tiers.oltp.url).toContain('S3cr3tOltp');
    expect(config.rolePassword).toBe('S3cr3tRole');
  });

  it.each([
    [{ OLTP_DB_URL: 'not a url' }, /OLTP_DB_URL: not a URL/],
    [{ CONTENT_DB_URL: 'mysql://localhost/x' }, /CONTENT_DB_URL: expected a postgresql: or postgres: URL/],
    [{ OLAP_DB_URL: 'postgresql://localhost:5434' }, /OLAP_DB_URL: the URL names no database/],
    [{ QUEUE_REDIS_URL: 'http://localhost' }, /QUEUE_REDIS_URL: expected a redis: or rediss: URL/],
    [{ OLTP_POOL_MAX: '0' }, /OLTP_POOL_MAX: must be a whole number from 1/],
    [{ CONTENT_POOL_IDLE_TIMEOUT_MS: '1.5' }, /CONTENT_POOL_IDLE_TIMEOUT_MS: must be a whole number/],
    [{ FIVETIER_HTTP_PORT: '70000' }, /FIVETIER_HTTP_PORT: must be a whole number from 0 to 65535/],
    [{ FIVETIER_HTTP_PROT: '8080' }, /FIVETIER_HTTP_PROT is not a fivetier setting/],
    [{ OLTP_DB_URI: 'postgresql://x/y' }, /OLTP_DB_URI is not a fivetier setting/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(FivetierError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lets library overrides win over the environment', () => {
    const config = loadConfig({ OLTP_POOL_MAX: '12' }, { tiers: { oltp: { pool: { max: 3 } } }, http: { port: 0 } });
    expect(config.tiers.oltp.pool.max).toBe(3);
    expect(config.http.port).toBe(0);
  });
});
