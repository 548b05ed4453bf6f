import { describe, expect, it } from 'vitest';
import { embeddedTiers, loadConfig } from '../../src/config/config.js';
import { POOL_DEFAULTS } from '../../src/config/defaults.js';
import { FivetierError } from '../../src/errors/codes.js';

describe('loadConfig', () => {
  it('takes the seed pool settings by default and embeds every tier without a URL', () => {
    const config = loadConfig({});
    expect(config.tiers.oltp.pool).toEqual({ max: 100, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 30_000 });
    expect(config.tiers.content.pool.max).toBe(50);
    expect(config.tiers.content.pool.idleTimeoutMillis).toBe(60_000);
    expect(config.tiers.olap.pool.max).toBe(20);
    expect(config.tiers.olap.pool.idleTimeoutMillis).toBe(120_000);
    expect(embeddedTiers(config)).toEqual(['oltp', 'content', 'olap', 'queue', 'notifications']);
    expect(config.redisUrl).toBeUndefined();
    expect(Object.isFrozen(config) && Object.isFrozen(config.tiers.oltp.pool)).toBe(true);
  });

  it('reads the seed environment variables and pool overrides', () => {
    const config = loadConfig({
      OLTP_DB_URL: 'postgresql://localhost:5432/penguinmails_oltp',
      CONTENT_DB_URL: 'postgresql://localhost:5433/penguinmails_content',
      QUEUE_REDIS_URL: 'redis://localhost:6379',
      OLTP_POOL_MAX: '12',
      OLAP_STATEMENT_TIMEOUT_MS: '5000',
      UNRELATED_VARIABLE: 'ignored',
    });
    expect(config.tiers.oltp.url).toBe('postgresql://localhost:5432/penguinmails_oltp');
    expect(config.tiers.oltp.pool.max).toBe(12);
    expect(config.tiers.olap.pool.statementTimeoutMillis).toBe(5000);
    expect(config.redisUrl).toBe('redis://localhost:6379');
    expect(embeddedTiers(config)).toEqual(['olap', 'queue', 'notifications']);
    expect(POOL_DEFAULTS.oltp.max).toBe(100);
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
