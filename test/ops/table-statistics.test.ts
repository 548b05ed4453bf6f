import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A table that grows from nothing in seconds (a fresh install's first campaign) gets statistics
 * from the service's leader long before autovacuum's next round, and the claim of emails by id
 * is then planned as a look-up of those ids instead of a read of the tenant's every email.
 */
describe('fresh table statistics', () => {
  let service: Service;
  let stop: () => Promise<void>;
  let olap: TcpProxy;
  const lines: string[] = [];

  beforeAll(async () => {
    ({ service, stop } = await startScratchService('statistics', {
      config: async (urls) => {
        olap = await TcpProxy.forUrl(urls.olap);
        return { tiers: { olap: { url: olap.urlFor(urls.olap) } } };
      },
      handlers: {},
      log: (line) => lines.push(line),
      statisticsIntervalMs: 300,
    }));
  });
  afterAll(async () => {
    await stop?.();
    await olap?.close();
  });

  it('analyzes a table that grew by 20,000 rows within seconds, once, and the claim by id then uses the primary key', { timeout: 60_000 }, async () => {
    const ft = service.fivetier;
    const tenantId = await createTenant(ft);
    const ids = await ft.oltp.withTenant(tenantId, async (c) => {
      await c.query(`insert into public.emails (tenant_id, recipient) select $1, 'r' || g || '@example.com' from generate_series(1, 20000) g`, [tenantId]);
      return (await c.query<{ id: string }>('select id from public.emails limit 20')).rows.map((r) => r.id);
    });
    const analyzed = () => lines.filter((l) => /^table statistics: analyzed .*oltp\.emails \(\d+ rows changed\)/.test(l));
    const deadline = Date.now() + 40_000;
    while (analyzed().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(analyzed(), lines.join('\n')).toHaveLength(1);
    const lastAnalyze = await ft.oltp.withMaintenance((c) => c.query<{ at: Date | null }>("select last_analyze as at from pg_stat_user_tables where relname = 'emails'"));
    expect(lastAnalyze.rows[0]!.at).not.toBeNull();

    // The look-up at the head of the email claim, as the tenant runs it.
    const plan = await ft.oltp.withTenant(tenantId, (c) =>
      c.query<{ 'QUERY PLAN': string }>('explain select e.id from public.emails e where e.id = any($1::uuid[]) order by e.id for update', [ids]),
    );
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using emails_pkey on emails/);
    expect(text).toMatch(/Index Cond: \(\(tenant_id = \$\d+\) AND \(id = ANY/);

    // Nothing changed since: later passes analyze nothing more.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(analyzed()).toHaveLength(1);
  });

  it('says once that a tier is skipped while it is down, and once that it answers again', { timeout: 60_000 }, async () => {
    const skipped = () => lines.filter((l) => l.startsWith('table statistics: skipping olap until it answers'));
    const back = () => lines.filter((l) => l === 'table statistics: olap answers again');
    olap.down();
    const deadline = Date.now() + 20_000;
    while (skipped().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2_000)); // several passes of 300 ms while it stays down
    expect(skipped(), lines.join('\n')).toHaveLength(1);
    olap.up();
    const until = Date.now() + 20_000;
    while (back().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(back(), lines.join('\n')).toHaveLength(1);
  });
});
