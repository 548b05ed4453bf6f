import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency } from '../../src/cross-tier/index.js';
import { isFivetierError } from '../../src/errors/codes.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import type { TierName } from '../../src/types.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { testConfig } from '../helpers/platform.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The checker merges two key-ordered streams (emails' keys from OLTP, content keys from
 * Content). These cases sit where a merge could go wrong: keys that are prefixes of each
 * other, a key present under another tenant, emails sharing a key, emails with no key, young
 * content, many rows per progress batch, and a check stopped halfway.
 */
describe('consistency check: the merge of the two key streams', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  let urls: Record<TierName, string>;
  beforeAll(async () => {
    ({ ft, drop, urls } = await openScratchFivetier('checkmerge'));
  });
  afterAll(async () => {
    await drop();
  });

  const email = (tenant: string, key: string | null) =>
    ft.oltp.withTenant(tenant, async (c) => (await c.query<{ id: string }>("insert into emails (tenant_id, recipient, content_storage_key, status) values ($1, 'r@example.com', $2, 'sent') returning id", [tenant, key])).rows[0]!.id);
  const content = (tenant: string, key: string, age = '2 hours') =>
    ft.content.withTenant(tenant, (c) => c.query("insert into content_objects (tenant_id, storage_key, content_text, created_at) values ($1, $2, 'x', now() - $3::interval)", [tenant, key, age]));

  /** Plant the cases for two new tenants; returns what a check must find of theirs. */
  async function plant() {
    const a = await createTenant(ft);
    const b = await createTenant(ft);
    const p = `pfx${a.slice(0, 8)}`;
    // Prefixes: the email's key `p` has no content, though `p0` and `p-` (which sort around it) do.
    const prefixed = await email(a, p);
    await email(a, `${p}0`);
    await content(a, `${p}0`);
    await email(a, `${p}-`);
    await content(a, `${p}-`);
    // The key exists, under the other tenant only: I1 for a's email, I3 for b's content.
    const crossed = await email(a, `${p}x`);
    await content(b, `${p}x`);
    // Two emails share a missing key: one finding each.
    const twins = [await email(a, `${p}t`), await email(a, `${p}t`)];
    // Emails sharing a present key; an email with no key; young unreferenced content.
    await email(a, `${p}s`);
    await email(a, `${p}s`);
    await content(a, `${p}s`);
    await email(a, null);
    await content(a, `${p}young`, '1 second');
    return { a, b, i1: [[prefixed, p], [crossed, `${p}x`], [twins[0], `${p}t`], [twins[1], `${p}t`]].sort(), i3: [[b, `${p}x`]] };
  }

  async function expectFound(planted: Awaited<ReturnType<typeof plant>>, platform = ft): Promise<void> {
    const { a, b } = planted;
    for (const tenantId of [undefined, a]) {
      const report = await checkConsistency(platform, { tenantId, orphanGraceSeconds: 3600, outboxAgeSeconds: 3600, batchSize: 3, record: false });
      const mine = (s: Record<string, unknown>) => s.tenant_id === a || s.tenant_id === b;
      expect(report.findings.I1.samples.filter(mine).map((s) => [s.email_id, s.storage_key]).sort(), `tenant ${tenantId ?? 'all'}`).toEqual(planted.i1);
      expect(report.findings.I3.samples.filter(mine).map((s) => [s.tenant_id, s.storage_key])).toEqual(tenantId === a ? [] : planted.i3);
      if (tenantId === a) {
        expect(report.findings.I1.count).toBe(4);
        expect(report.scanned).toMatchObject({ emails: 9, content: 4 });
      }
    }
  }

  it('finds exactly the planted pairs, whatever sorts next to them', async () => {
    await expectFound(await plant());
  });

  it('a check stopped halfway fails with the reason and leaves the tiers usable', async () => {
    const t = await createTenant(ft);
    for (let i = 0; i < 30; i++) {
      const key = `stop${t.slice(0, 8)}${String(i).padStart(3, '0')}`;
      await email(t, key);
      await content(t, key);
    }
    let calls = 0;
    const failed = await checkConsistency(ft, {
      tenantId: t,
      batchSize: 4,
      record: false,
      onProgress: () => {
        if (++calls === 3) throw new Error('stopped by the test');
      },
    }).catch((e: Error) => e);
    expect((failed as Error).message).toBe('stopped by the test');
    // Both streams' transactions ended (cut, then rolled back): the next check runs to the end.
    const again = await checkConsistency(ft, { tenantId: t, batchSize: 4, record: false });
    expect(again).toMatchObject({ clean: true, scanned: { emails: 30, content: 30 } });
  });

  it('a tier that freezes while its keys stream fails the check within the bound (FT_ERR_TIER_UNAVAILABLE), and the check works once it thaws', async () => {
    const t = await createTenant(ft);
    // Enough rows that the content stream is still on the wire when the tier freezes.
    const seed = async (url: string, sql: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(sql, [t]);
      await c.end();
    };
    await seed(urls.oltp, "insert into public.emails (tenant_id, recipient, content_storage_key, status) select $1, 'r@example.com', 'frz' || i, 'sent' from generate_series(1, 200000) i");
    await seed(urls.content, "insert into public.content_objects (tenant_id, storage_key, content_text, created_at) select $1, 'frz' || i, 'x', now() - interval '2 hours' from generate_series(1, 200000) i");
    const proxy = await TcpProxy.forUrl(urls.content);
    const faulty = await openFivetier({ config: testConfig({ tiers: { ...Object.fromEntries(Object.entries(urls).map(([k, u]) => [k, { url: u }])), content: { url: proxy.urlFor(urls.content) } } }), migrate: false });
    try {
      let frozenAt = 0;
      const failed = await checkConsistency(faulty, {
        tenantId: t,
        batchSize: 2_000,
        record: false,
        onProgress: () => {
          if (frozenAt === 0) {
            proxy.freeze();
            frozenAt = performance.now();
          }
        },
      }).catch((e: Error) => e);
      expect(frozenAt).toBeGreaterThan(0);
      expect(performance.now() - frozenAt).toBeLessThan(5_000 + faulty.config.tierTimeoutMs);
      expect(isFivetierError(failed, 'FT_ERR_TIER_UNAVAILABLE'), String(failed)).toBe(true);
      expect((failed as Error).message).toContain('content');
      proxy.thaw();
      const deadline = Date.now() + 20_000;
      let report: Awaited<ReturnType<typeof checkConsistency>> | undefined;
      while (!report && Date.now() < deadline) {
        report = await checkConsistency(faulty, { tenantId: t, record: false }).catch(async () => {
          await new Promise((r) => setTimeout(r, 200));
          return undefined;
        });
      }
      expect(report).toMatchObject({ clean: true, scanned: { emails: 200_000, content: 200_000 } });
    } finally {
      proxy.thaw();
      await faulty.close();
      await proxy.close();
    }
  });

  it('the same when the key column sorts otherwise (an ICU collation): the email keys are then sorted with COLLATE "C"', async () => {
    const admin = new pg.Client({ connectionString: urls.oltp });
    await admin.connect();
    try {
      const icu = (await admin.query("select count(*)::int as n from pg_catalog.pg_collation where collname = 'und-x-icu'")).rows[0].n === 1;
      if (!icu) return; // a server built without ICU: nothing to switch to
      await admin.query('alter table public.emails alter column content_storage_key type varchar(500) collate "und-x-icu"');
      const planted = await plant();
      // A platform of its own: the pooled connections' prepared statements predate the new column type.
      const fresh = await openFivetier({ config: testConfig({ tiers: Object.fromEntries(Object.entries(urls).map(([k, u]) => [k, { url: u }])) }), migrate: false });
      try {
        await expectFound(planted, fresh);
      } finally {
        await fresh.close();
      }
    } finally {
      await admin.query('alter table public.emails alter column content_storage_key type varchar(500) collate "default"').catch(() => {});
      await admin.end();
    }
  });
});
