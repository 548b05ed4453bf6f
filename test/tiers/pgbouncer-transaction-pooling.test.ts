import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config/config.js';
import { OutboxRelay, sendEmail } from '../../src/cross-tier/index.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { roleUrl } from '../../src/tiers/tier-client.js';
import { emailsFindExisting } from '../../src/tiers/oltp/queries/emails.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { createTenant, migratedScratchDatabases, tenantState } from '../helpers/cross-tier.js';
import { pgbouncerMissing, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { openTestFivetier, testConfig, testRolePassword } from '../helpers/platform.js';

/**
 * What the PgBouncer run of the tenant isolation suite rests on. One server connection per
 * database and role (pool size 1), so every client of a role shares one server session:
 * - a tenant set for the session (set_config(..., false)) does reach the next client through
 *   PgBouncer, so the suite's "sees 0 rows" checks would catch a leak; the library's per-
 *   transaction reset is what keeps them at 0;
 * - named prepared statements do not survive the hop to another client (PgBouncer 1.18), which
 *   is why the PgBouncer run sets namedStatements: 0;
 * - LISTEN needs a session of its own: through transaction pooling the outbox relay moves
 *   rows by polling.
 */

const noPgBouncer = pgbouncerMissing();
if (noPgBouncer) console.warn(`pgbouncer tests: ${noPgBouncer}`);

/** Overrides for a platform whose OLTP and Content go through PgBouncer. */
function throughBouncer(bouncer: PgBouncer, urls: Record<TierName, string>, pool: { max?: number; namedStatements?: number } = {}): ConfigOverrides {
  const viaBouncer = (t: TierName) => ({ url: bouncer.through(urls[t]), pool: { namedStatements: 0, statementTimeoutMillis: 0, ...pool } });
  return { tiers: { oltp: viaBouncer('oltp'), content: viaBouncer('content') } };
}

describe.skipIf(noPgBouncer !== undefined)('PgBouncer in transaction pooling mode', () => {
  let bouncer: PgBouncer;
  let admin: pg.Client;
  const tenantA = randomUUID();
  const appUrl = () => roleUrl(bouncer.through(inject('tierUrls').content), 'app', testRolePassword());

  beforeAll(async () => {
    bouncer = await startPgBouncer(inject('pgAdminUrl'), testRolePassword(), { poolSize: 1 });
    admin = new pg.Client({ connectionString: inject('tierUrls').content });
    await admin.connect();
    await admin.query('insert into public.content_objects (tenant_id, storage_key, content_text) values ($1, $2, $3)', [tenantA, `leak-probe-${tenantA}`, 'x']);
  });
  afterAll(async () => {
    await admin?.query('delete from public.content_objects where tenant_id = $1', [tenantA]);
    await admin?.end();
    await bouncer?.stop();
  });

  /** Rows of tenant A that a fresh client of the runtime role sees in a transaction that sets no tenant. */
  async function seenByTheNextClient(): Promise<number> {
    const next = new pg.Client({ connectionString: appUrl() });
    await next.connect();
    try {
      await next.query('begin');
      const { rows } = await next.query('select count(*)::int as n from public.content_objects where tenant_id = $1', [tenantA]);
      await next.query('rollback');
      return rows[0].n;
    } finally {
      await next.end();
    }
  }

  it('a tenant left on the session reaches the next client: the suite would see the leak', async () => {
    const careless = new pg.Client({ connectionString: appUrl() });
    await careless.connect();
    try {
      await careless.query('begin');
      await careless.query("select set_config('app.current_tenant_id', $1, false)", [tenantA]);
      await careless.query('commit');
    } finally {
      await careless.end();
    }
    // A client that never named a tenant sees tenant A's row: PgBouncer resets nothing in transaction mode.
    expect(await seenByTheNextClient()).toBe(1);
    // Clean the shared server session for what follows.
    const cleaner = new pg.Client({ connectionString: appUrl() });
    await cleaner.connect();
    await cleaner.query('reset all');
    await cleaner.end();
    expect(await seenByTheNextClient()).toBe(0);
  });

  it("the same through the library's withTenant: the next client sees 0 rows", async () => {
    const ft = await openTestFivetier(throughBouncer(bouncer, inject('tierUrls'), { max: 1 }));
    try {
      await ft.content.withTenant(tenantA, async (c) => {
        await c.query("select set_config('app.current_tenant_id', $1, false)", [tenantA]);
        // Inside the transaction the tenant is set, as the callback asked.
        expect((await c.query('select count(*)::int as n from public.content_objects where tenant_id = $1', [tenantA])).rows[0].n).toBe(1);
      });
      expect(await seenByTheNextClient()).toBe(0);
      // And when the callback throws after leaving it.
      await ft.content
        .withTenant(tenantA, async (c) => {
          await c.query("select set_config('app.current_tenant_id', $1, false)", [tenantA]);
          throw new Error('the callback fails');
        })
        .catch(() => {});
      expect(await seenByTheNextClient()).toBe(0);
    } finally {
      await ft.close();
    }
  });

  it('named prepared statements break across clients; namedStatements: 0 sends them unnamed', async () => {
    const urls = inject('tierUrls');
    const ids = [randomUUID()];
    const run = async (namedStatements: number) => {
      // Two platforms: two clients of the maintenance role on PgBouncer's one server session.
      const [one, two] = [await openTestFivetier(throughBouncer(bouncer, urls, { namedStatements })), await openTestFivetier(throughBouncer(bouncer, urls, { namedStatements }))];
      try {
        await one.oltp.withMaintenance((c) => emailsFindExisting(c, [tenantA], ids));
        return await two.oltp.withMaintenance((c) => emailsFindExisting(c, [tenantA], ids)).then(
          () => 'ok',
          (e: Error & { code?: string }) => e.code ?? e.message,
        );
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    };
    // The second client's Parse meets the statement the first one left on the session.
    expect(await run(1)).toBe('42P05');
    // Discard what the named run left, so the next run starts from a clean session.
    const cleaner = new pg.Client({ connectionString: roleUrl(bouncer.through(urls.oltp), 'maintenance', testRolePassword()) });
    await cleaner.connect();
    await cleaner.query('deallocate all');
    await cleaner.end();
    expect(await run(0)).toBe('ok');
  });
});

describe.skipIf(noPgBouncer !== undefined)('the outbox relay through PgBouncer', () => {
  let bouncer: PgBouncer;
  let direct: Fivetier;
  let pooled: Fivetier;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const scratch = await migratedScratchDatabases('pgbouncer');
    drop = scratch.drop;
    bouncer = await startPgBouncer(inject('pgAdminUrl'), testRolePassword(), { poolSize: 1 });
    const tiers = (o: ConfigOverrides['tiers'] = {}) => Object.fromEntries(TIER_NAMES.map((t) => [t, { url: scratch.urls[t], ...o[t] }]));
    direct = await openFivetier({ config: testConfig({ tiers: tiers() }), migrate: false });
    pooled = await openFivetier({ config: testConfig({ tiers: tiers(throughBouncer(bouncer, scratch.urls).tiers) }), migrate: false });
  });
  afterAll(async () => {
    await pooled?.close();
    await direct?.close();
    await bouncer?.stop();
    await drop?.();
  });

  it('a LISTEN through transaction pooling hears nothing (the session it ran on went back to the pool); a direct one does', async () => {
    const channel = `probe_${randomUUID().replace(/-/g, '')}`;
    const heard = { pooled: 0, direct: 0 };
    const listenerOn = async (url: string, key: keyof typeof heard) => {
      const c = new pg.Client({ connectionString: url });
      c.on('notification', () => heard[key]++);
      c.on('error', () => {});
      await c.connect();
      await c.query(`listen ${channel}`);
      return c;
    };
    const worker = (url: string) => roleUrl(url, 'worker', testRolePassword());
    const viaBouncer = await listenerOn(worker(bouncer.through(inject('tierUrls').oltp)), 'pooled');
    const straight = await listenerOn(worker(inject('tierUrls').oltp), 'direct');
    try {
      const notifier = new pg.Client({ connectionString: inject('tierUrls').oltp });
      await notifier.connect();
      await notifier.query(`notify ${channel}`);
      await notifier.end();
      const deadline = Date.now() + 10_000;
      while (heard.direct === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // as long again for the pooled one, past the direct delivery
      expect(heard).toEqual({ pooled: 0, direct: 1 });
    } finally {
      await Promise.all([viaBouncer.end().catch(() => {}), straight.end()]);
    }
  });

  it('moves rows by polling, since LISTEN wake-ups need a session of their own', async () => {
    // why honest: through transaction pooling the relay's LISTEN runs on a server session that
    // PgBouncer hands to other clients; notifications are not to be counted on. Polling is.
    const relay = new OutboxRelay(pooled, { pollIntervalMs: 200 });
    const tenantId = await createTenant(pooled);
    relay.start();
    try {
      const sent = await sendEmail(pooled, { tenantId, recipient: 'a@example.com', body: 'through pgbouncer' });
      const deadline = Date.now() + 20_000;
      let state = await tenantState(direct, tenantId);
      while (state.jobs.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        state = await tenantState(direct, tenantId);
      }
      expect(state.outbox).toEqual([]);
      expect(state.jobs.map((j) => j.id)).toEqual([sent.jobId]);
    } finally {
      await relay.stop();
    }
  });
});
