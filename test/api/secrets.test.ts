import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { resolveOperatorKey } from '../../src/api-keys/operator-key.js';
import { TIER_NAMES } from '../../src/types.js';
import { openTestApi } from './api-helpers.js';

/** Every row of every table of a tier's public schema, as text. */
async function dumpTier(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(`select quote_ident(tablename) as name from pg_tables where schemaname = 'public'`);
    let all = '';
    for (const t of tables) {
      const { rows } = await client.query<{ row: string }>(`select t::text as row from public.${t.name} t`);
      all += rows.map((r) => r.row).join('\n');
    }
    return all;
  } finally {
    await client.end();
  }
}

/**
 * Must-show 4, API keys: no API key (nor the operator key) is readable in plain text in any
 * tier, in Redis, or in the API's log, whatever the requests did with it.
 */
describe('API keys at rest and in logs', () => {
  const dir = mkdtempSync(`${tmpdir()}/fivetier-opkey-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores only the hash of a key, and logs neither the keys nor the Authorization header', async () => {
    let log = '';
    const stream = new Writable({ write: (chunk, _enc, done) => void ((log += chunk.toString()), done()) });
    const api = await openTestApi({ logger: { level: 'trace', stream } });
    try {
      const t = await api.tenant('secrets');
      // the key in use: good requests, a failing one, a bad key next to it
      expect((await api.call(t.key, 'GET', '/v1/templates')).status).toBe(200);
      expect((await api.call(t.key, 'POST', '/v1/templates', { name: '' })).status).toBe(400);
      expect((await api.call(`${t.key}x`, 'GET', '/v1/templates')).status).toBe(401);
      const sent = await api.call(t.key, 'POST', '/v1/emails', { to: 'x@example.com', subject: 's', body: 'b' });
      expect(sent.status).toBe(201);

      expect(log.length, 'the logger wrote something').toBeGreaterThan(100);
      expect(log).toContain('/v1/templates');
      for (const secret of [t.key, api.operatorKey]) expect(log).not.toContain(secret);
      expect(log).not.toMatch(/Bearer/i);

      const hash = createHash('sha256').update(t.key).digest('hex');
      const urls = inject('tierUrls');
      let found = false;
      for (const tier of TIER_NAMES) {
        const dump = await dumpTier(urls[tier]);
        for (const secret of [t.key, t.key.slice(16), api.operatorKey]) expect(dump, `${tier} holds a key in plain text`).not.toContain(secret);
        if (dump.includes(hash)) found = true;
      }
      expect(found, 'the OLTP api_keys row holds the sha256 of the key').toBe(true);

      const redisUrl = inject('redisUrl');
      if (redisUrl) {
        const redis = new Redis(redisUrl);
        try {
          const keys = await redis.keys('fivetier-api-rate:*');
          expect(keys.length).toBeGreaterThan(0);
          for (const k of keys) expect(k).not.toContain(t.key.slice(8));
        } finally {
          redis.disconnect();
        }
      }
    } finally {
      await api.close();
    }
  });

  it('generates the operator key into the data folder, private, and logs where, never what', () => {
    const lines: string[] = [];
    const key = resolveOperatorKey({ fromEnv: undefined, dataDir: `${dir}/data`, log: (l) => lines.push(l) });
    expect(key).toMatch(/^ft_op_.{43}$/);
    expect(statSync(`${dir}/data/operator-key`).mode & 0o777).toBe(0o600);
    expect(lines.join('\n')).toContain(`${dir}/data/operator-key`);
    expect(lines.join('\n')).not.toContain(key!);
    expect(resolveOperatorKey({ fromEnv: undefined, dataDir: `${dir}/data`, log: (l) => lines.push(l) })).toBe(key);
    expect(lines.join('\n')).not.toContain(key!);
    expect(() => resolveOperatorKey({ fromEnv: 'short', dataDir: undefined, log: () => {} })).toThrow(/at least 32/);
  });
});
