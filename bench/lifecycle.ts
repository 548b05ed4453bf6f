/**
 * Retention and erasure over seeded data (set-based SQL, as the admin role):
 * - retention: N old completed jobs (default 200,000) with one log each across 100 tenants, plus
 *   N/10 dead jobs; a dry run, then the real run with the dry run's asOf, batches of 1,000. Prints
 *   rows per second and the longest batch (the longest a retention transaction holds its locks).
 * - erasure: one tenant with M leads and emails with bodies (default 50,000); the erasure of one
 *   address (its cost is the catalog-driven redaction pass over the tenant's rows), then of the
 *   whole tenant.
 *
 *   npm run bench:lifecycle      (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_JOBS=200000, FIVETIER_BENCH_EMAILS=50000)
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { eraseRecipient, eraseTenant } from '../src/lifecycle/erasure.js';
import { runRetention } from '../src/lifecycle/retention.js';
import { benchDatabases } from './bench-databases.js';

const JOBS = Number(process.env.FIVETIER_BENCH_JOBS ?? 200_000);
const EMAILS = Number(process.env.FIVETIER_BENCH_EMAILS ?? 50_000);
const TENANT = `('00000000-0000-4000-8000-' || lpad(to_hex(1 + i % 100), 12, '0'))::uuid`;
const ONE = '00000000-0000-4000-8000-0000000000aa';

/** Run statements one by one (VACUUM cannot run in the implicit transaction of a multi-statement query). */
async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    for (const statement of text.split(/;\s*\n/).map((t) => t.trim().replace(/;$/, '')).filter(Boolean)) await c.query(statement);
  } finally {
    await c.end();
  }
}

const dbs = await benchDatabases('lifecycle');
try {
  console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await sql(
    dbs.urls.queue,
    `insert into jobs (tenant_id, id, queue_name, job_type, status, updated_at, completed_at, failed_at, attempts)
       select ${TENANT}, gen_random_uuid(), 'default', 'bench.old', case when i % 11 = 0 then 'dead' else 'completed' end,
              now() - interval '400 days', case when i % 11 = 0 then null else now() - interval '400 days' end,
              case when i % 11 = 0 then now() - interval '400 days' end, 1
         from generate_series(1, ${Math.round(JOBS * 1.1)}) i;
     insert into job_logs (tenant_id, job_id, status, message, attempt, created_at)
       select tenant_id, id, 'success', 'ok', 1, now() - interval '400 days' from jobs;
     vacuum analyze jobs;
     vacuum analyze job_logs;`,
  );
  const ft = await dbs.open();
  try {
    const asOf = new Date();
    let t0 = performance.now();
    const plan = await runRetention(ft, { dryRun: true, asOf, maxIds: 0 });
    const planMs = performance.now() - t0;
    let last = performance.now();
    let longest = 0;
    t0 = performance.now();
    const done = await runRetention(ft, {
      asOf,
      maxIds: 0,
      onProgress: () => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      },
    });
    const runMs = performance.now() - t0;
    const rows = done.rules.reduce((a, r) => a + r.count + r.related, 0);
    console.log(`retention: dry run ${plan.total} rows in ${Math.round(planMs)} ms; real run ${done.total} rows (+${rows - done.total} logs with their jobs) in ${Math.round(runMs)} ms = ${Math.round(rows / (runMs / 1000))} rows/s; longest batch ${Math.round(longest)} ms`);

    await sql(dbs.urls.oltp, `insert into tenants (id, name) values ('${ONE}', 'bench');
      insert into leads (tenant_id, email, name) select '${ONE}', 'lead' || i || '@example.com', 'Lead ' || i from generate_series(1, ${EMAILS}) i;
      insert into emails (tenant_id, recipient, subject, content_storage_key, status)
        select '${ONE}', 'lead' || i || '@example.com', 'Hello', 'k' || md5(i::text), 'sent' from generate_series(1, ${EMAILS}) i;
      vacuum analyze leads;
      vacuum analyze emails;`);
    await sql(dbs.urls.content, `insert into content_objects (tenant_id, storage_key, content_text, headers)
        select '${ONE}', 'k' || md5(i::text), 'Dear lead ' || i, jsonb_build_object('To', 'lead' || i || '@example.com') from generate_series(1, ${EMAILS}) i;
      vacuum analyze content_objects;`);
    t0 = performance.now();
    const one = await eraseRecipient(ft, ONE, 'lead7@example.com');
    console.log(`erase one address in a tenant of ${EMAILS} emails: ${Math.round(performance.now() - t0)} ms (${JSON.stringify(one.counts)})`);
    t0 = performance.now();
    const all = await eraseTenant(ft, ONE);
    console.log(`erase that tenant (${EMAILS - 1} emails, leads and content rows): ${Math.round(performance.now() - t0)} ms (${Object.values(all.counts).reduce((a, n) => a + n, 0)} rows)`);
  } finally {
    await ft.close();
  }
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await dbs.drop();
}
