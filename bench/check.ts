/**
 * `fivetier check` over seeded data, beside one in-database anti-join over the same keys.
 *
 * At each size (default 1,000,000 and 5,000,000 emails; FIVETIER_BENCH_EMAILS=a,b,... to
 * change) the emails and their content rows are seeded with set-based SQL (generate_series,
 * 100 tenants) as the admin role, then:
 * - the real CLI (`check --json`) runs in a child process, whose peak resident memory is read
 *   from /proc/<pid>/status (VmHWM, the kernel's high-water mark) every 50 ms;
 * - the baseline: the content keys are loaded into the OLTP database (the same generate_series
 *   expression) and one hand-written anti-join there is timed (emails -> keys, which is I1;
 *   keys -> emails, I3, is printed too).
 * Prints the check's emails/s, the anti-join's, their ratio and the peak RSS per size.
 *
 *   npm run bench:check           (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_EMAILS=1000000,5000000)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { TIER_NAMES } from '../src/types.js';
import { benchDatabases } from './bench-databases.js';

const SIZES = (process.env.FIVETIER_BENCH_EMAILS ?? '1000000,5000000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
  .sort((a, b) => a - b);
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

/** Rows from..to (inclusive) in both tiers, and the same keys in the baseline's table. */
async function seed(urls: Record<string, string>, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all([
    sql(urls.oltp!, `insert into emails (tenant_id, recipient, subject, content_storage_key, status)
      select ${TENANT}, 'r' || i || '@example.com', 'subject ' || i, ${KEY}, 'sent' from generate_series(${from}, ${to}) i`),
    sql(urls.content!, `insert into content_objects (tenant_id, storage_key, content_text, created_at)
      select ${TENANT}, ${KEY}, 'body of message ' || i, now() - interval '2 hours' from generate_series(${from}, ${to}) i`),
  ]);
  await sql(urls.oltp!, `insert into bench_content_keys select ${TENANT}, ${KEY} from generate_series(${from}, ${to}) i`);
  await Promise.all([sql(urls.oltp!, 'vacuum analyze emails'), sql(urls.oltp!, 'vacuum analyze bench_content_keys'), sql(urls.content!, 'vacuum analyze content_objects')]);
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
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited between samples
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(sample);
      resolve({ ms: performance.now() - t0, peakRssMb: Math.round(peak), output, code });
    });
  });
}

const antiJoinI1 = `select count(*) from emails e where e.content_storage_key is not null
  and not exists (select 1 from bench_content_keys c where c.tenant_id = e.tenant_id and c.storage_key = e.content_storage_key)`;
const antiJoinI3 = `select count(*) from bench_content_keys c
  where not exists (select 1 from emails e where e.tenant_id = c.tenant_id and e.content_storage_key = c.storage_key)`;

const dbs = await benchDatabases('check');
const env = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, dbs.urls[t]]));
await sql(dbs.urls.oltp, `insert into tenants (id, name) select ('00000000-0000-4000-8000-' || lpad(to_hex(t), 12, '0'))::uuid, 'bench ' || t from generate_series(1, 100) t`);
await sql(dbs.urls.oltp, `create table bench_content_keys (tenant_id uuid not null, storage_key varchar(500) not null, primary key (tenant_id, storage_key))`);
console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
let seeded = 0;
const rows: string[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
for (const n of SIZES) {
  const seedMs = await seed(dbs.urls, seeded + 1, n);
  seeded = n;
  console.log(`seeded ${fmt(n)} emails + content rows + baseline keys (${Math.round(seedMs / 1000)} s); load ${loadavg()[0]!.toFixed(2)}`);
  const r = await runCheck(env);
  const report = JSON.parse(r.output) as { clean: boolean; scanned: { emails: number; content: number }; durationMs: number };
  await sql(dbs.urls.oltp, antiJoinI1); // warm
  const i1Ms = await sql(dbs.urls.oltp, antiJoinI1);
  const i3Ms = await sql(dbs.urls.oltp, antiJoinI3);
  const checkRate = n / (report.durationMs / 1000);
  const joinRate = n / (i1Ms / 1000);
  const line = `| ${fmt(n)} | ${fmt(report.scanned.emails)} | ${fmt(report.scanned.content)} | ${(r.ms / 1000).toFixed(1)} | ${(report.durationMs / 1000).toFixed(2)} | **${fmt(checkRate)}** | ${(i1Ms / 1000).toFixed(2)} (I3: ${(i3Ms / 1000).toFixed(2)}) | ${fmt(joinRate)} | **${(checkRate / joinRate).toFixed(2)}** | **${r.peakRssMb}** | ${report.clean ? 'clean' : 'findings'} (exit ${r.code}) |`;
  console.log(line);
  rows.push(line);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('\n| emails | scanned emails | scanned content | wall s (CLI process) | check s | check emails/s | anti-join s | anti-join emails/s | ratio | peak RSS MB | result |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) console.log(r);
await dbs.drop();
