/**
 * `fivetier check` over seeded data: N emails (default 1,000,000) across 100 tenants, each with
 * its content row, seeded with set-based SQL (generate_series) as the admin role. Runs the real
 * CLI in a child process, sampling its resident memory (/proc/<pid>/status VmRSS) every 100 ms,
 * at several data sizes to show that memory stays flat. Then the baseline: the same keys loaded
 * into the OLTP database (the same generate_series expression) and one hand-written SQL
 * anti-join there, timed.
 *
 *   npm run bench:check           (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_EMAILS=1000000)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { TIER_NAMES } from '../src/types.js';
import { benchDatabases } from './bench-databases.js';

const TOTAL = Number(process.env.FIVETIER_BENCH_EMAILS ?? 1_000_000);
const STEPS = [...new Set([Math.round(TOTAL / 10), TOTAL])];
const TENANT = `('00000000-0000-4000-8000-' || lpad(to_hex(1 + i % 100), 12, '0'))::uuid`;
const KEY = `'k' || md5(i::text)`;

async function sql(url: string, text: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  await c.query(text);
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

/** Rows from..to (inclusive) in both tiers. */
async function seed(urls: Record<string, string>, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all([
    sql(urls.oltp!, `insert into emails (tenant_id, recipient, subject, content_storage_key, status)
      select ${TENANT}, 'r' || i || '@example.com', 'subject ' || i, ${KEY}, 'sent' from generate_series(${from}, ${to}) i`),
    sql(urls.content!, `insert into content_objects (tenant_id, storage_key, content_text, created_at)
      select ${TENANT}, ${KEY}, 'body of message ' || i, now() - interval '2 hours' from generate_series(${from}, ${to}) i`),
  ]);
  await Promise.all([sql(urls.oltp!, 'vacuum analyze emails'), sql(urls.content!, 'vacuum analyze content_objects')]);
  return performance.now() - t0;
}

function runCheck(env: Record<string, string>): Promise<{ ms: number; peakRssMb: number; output: string; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check', '--json'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } });
    let output = '';
    let peak = 0;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => process.stderr.write(`  ${d}`));
    const sample = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited between samples
      }
    }, 100);
    child.once('exit', (code) => {
      clearInterval(sample);
      resolve({ ms: performance.now() - t0, peakRssMb: Math.round(peak), output, code });
    });
  });
}

const dbs = await benchDatabases('check');
const env = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, dbs.urls[t]]));
await sql(dbs.urls.oltp, `insert into tenants (id, name) select ('00000000-0000-4000-8000-' || lpad(to_hex(t), 12, '0'))::uuid, 'bench ' || t from generate_series(1, 100) t`);
console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
let seeded = 0;
const rows: string[] = [];
for (const n of STEPS) {
  const seedMs = await seed(dbs.urls, seeded + 1, n);
  seeded = n;
  console.log(`seeded ${n} emails + content rows (${Math.round(seedMs / 1000)} s)`);
  const r = await runCheck(env);
  const report = JSON.parse(r.output) as { clean: boolean; scanned: { emails: number; content: number }; durationMs: number };
  const line = `| ${n} | ${report.scanned.emails} | ${report.scanned.content} | ${(r.ms / 1000).toFixed(1)} | ${(report.durationMs / 1000).toFixed(1)} | ${Math.round(n / (report.durationMs / 1000))} | ${r.peakRssMb} | ${report.clean ? 'clean' : 'findings'} (exit ${r.code}) |`;
  console.log(line);
  rows.push(line);
}

// Baseline: the content keys loaded into the OLTP database, one anti-join there.
await sql(dbs.urls.oltp, `create table bench_content_keys (tenant_id uuid not null, storage_key varchar(500) not null, primary key (tenant_id, storage_key))`);
const loadMs = await sql(dbs.urls.oltp, `insert into bench_content_keys select ${TENANT}, ${KEY} from generate_series(1, ${TOTAL}) i`);
await sql(dbs.urls.oltp, 'vacuum analyze bench_content_keys');
const antiJoin = `select count(*) from emails e where e.content_storage_key is not null
  and not exists (select 1 from bench_content_keys c where c.tenant_id = e.tenant_id and c.storage_key = e.content_storage_key)`;
const reverse = `select count(*) from bench_content_keys c
  where not exists (select 1 from emails e where e.tenant_id = c.tenant_id and e.content_storage_key = c.storage_key)`;
await sql(dbs.urls.oltp, antiJoin); // warm
const i1Ms = await sql(dbs.urls.oltp, antiJoin);
const i3Ms = await sql(dbs.urls.oltp, reverse);
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('\n| emails | scanned emails | scanned content | wall s (CLI process) | check s | emails/s | peak RSS MB | result |\n|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nbaseline: keys loaded into the OLTP database in ${(loadMs / 1000).toFixed(1)} s; anti-join emails -> keys (I1) ${(i1Ms / 1000).toFixed(2)} s; keys -> emails (I3) ${(i3Ms / 1000).toFixed(2)} s`);
await dbs.drop();
