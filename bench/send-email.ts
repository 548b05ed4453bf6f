/**
 * sendEmail throughput and latency at concurrency 1 and 32, beside a baseline that does the
 * same three inserts (email, content, job) with bare `pg`, autocommit, as the admin role, no
 * protocol (no transactions, no tenant setting, no outbox, no relay).
 * The protocol runs with the outbox relay working in the same process, as in the service.
 *
 * Baseline and protocol alternate in ROUNDS rounds of SECONDS each; throughput is the median
 * round, latencies are pooled over the rounds.
 *
 *   npm run bench:send            (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_SECONDS=5, FIVETIER_BENCH_ROUNDS=3)
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { OutboxRelay, relayOutbox } from '../src/cross-tier/outbox-relay.js';
import { sendEmail } from '../src/cross-tier/send-email.js';
import { newStorageKey } from '../src/cross-tier/storage-key.js';
import { benchDatabases, median, percentile } from './bench-databases.js';

const SECONDS = Number(process.env.FIVETIER_BENCH_SECONDS ?? 5);
/** Baseline and protocol alternate this many times, so drifting machine load hits both alike. */
const ROUNDS = Number(process.env.FIVETIER_BENCH_ROUNDS ?? 3);
const CONCURRENCIES = [1, 32];

interface Result {
  sends: number;
  perSecond: number;
  p50: number;
  p99: number;
}

interface Round {
  sends: number;
  perSecond: number;
  latencies: number[];
}

function summarize(rounds: Round[]): Result & { rounds: number[] } {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    sends: rounds.reduce((a, r) => a + r.sends, 0),
    perSecond: median(rounds.map((r) => r.perSecond)),
    p50: +percentile(latencies, 50).toFixed(2),
    p99: +percentile(latencies, 99).toFixed(2),
    rounds: rounds.map((r) => r.perSecond),
  };
}

async function run(concurrency: number, once: (worker: number, i: number) => Promise<void>): Promise<Round> {
  // Warm-up: a second of sends, not measured.
  const warmEnd = Date.now() + 1_000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; Date.now() < warmEnd; i++) await once(w, i);
  }));
  const latencies: number[] = [];
  const started = performance.now();
  const end = Date.now() + SECONDS * 1_000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      const t0 = performance.now();
      await once(w, i);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { sends: latencies.length, perSecond: Math.round(latencies.length / elapsed), latencies };
}

const dbs = await benchDatabases('send');
const ft = await dbs.open({ oltp: 40, content: 40 });
const tenants: string[] = [];
for (let i = 0; i < 32; i++) {
  const id = randomUUID();
  await ft.oltp.withTenant(id, (c) => c.query('insert into tenants (id, name) values ($1, $2)', [id, `bench ${i}`]));
  tenants.push(id);
}
const bare = {
  oltp: new pg.Pool({ connectionString: dbs.urls.oltp, max: 40 }),
  content: new pg.Pool({ connectionString: dbs.urls.content, max: 40 }),
  queue: new pg.Pool({ connectionString: dbs.urls.queue, max: 40 }),
};

const baselineOnce = async (w: number, i: number) => {
  const tenantId = tenants[w]!;
  const key = newStorageKey();
  const { rows } = await bare.oltp.query('insert into emails (tenant_id, recipient, subject, content_storage_key) values ($1, $2, $3, $4) returning id', [tenantId, `r${i}@example.com`, `subject ${i}`, key]);
  await bare.content.query('insert into content_objects (tenant_id, storage_key, content_text) values ($1, $2, $3)', [tenantId, key, `body ${i} `.repeat(20)]);
  await bare.queue.query("insert into jobs (tenant_id, queue_name, job_type, payload) values ($1, 'analytics', 'track_email_sent', $2)", [tenantId, JSON.stringify({ email_id: rows[0].id })]);
};
const protocolOnce = async (w: number, i: number) => {
  await sendEmail(ft, { tenantId: tenants[w]!, recipient: `r${i}@example.com`, subject: `subject ${i}`, body: `body ${i} `.repeat(20) });
};

const results: Record<string, Result & { rounds: number[] }> = {};
console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const c of CONCURRENCIES) {
  const baseline: Round[] = [];
  const protocol: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    baseline.push(await run(c, baselineOnce));
    const relay = new OutboxRelay(ft, { pollIntervalMs: 200 });
    relay.start();
    protocol.push(await run(c, protocolOnce));
    await relay.stop();
    await relayOutbox(ft);
  }
  results[`baseline c=${c}`] = summarize(baseline);
  results[`protocol c=${c}`] = summarize(protocol);
  console.log(`baseline  c=${c}: ${JSON.stringify(results[`baseline c=${c}`])}`);
  console.log(`protocol  c=${c}: ${JSON.stringify(results[`protocol c=${c}`])}`);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('\n| run | sends | sends/s (median round) | rounds sends/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.sends} | ${r.perSecond} | ${r.rounds.join(', ')} | ${r.p50} | ${r.p99} |`);
for (const c of CONCURRENCIES) {
  console.log(`ratio protocol/baseline at c=${c}: ${(results[`protocol c=${c}`]!.perSecond / results[`baseline c=${c}`]!.perSecond).toFixed(2)}`);
}
const jobs = await ft.queue.withMaintenance((c) => c.query('select count(*)::int as n from jobs'));
const outbox = await ft.oltp.withMaintenance((c) => c.query('select count(*)::int as n from outbox'));
console.log(`after the relay drained: ${jobs.rows[0].n} jobs, ${outbox.rows[0].n} outbox rows left`);
await Promise.all(Object.values(bare).map((p) => p.end()));
await ft.close();
await dbs.drop();
