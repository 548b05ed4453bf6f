/**
 * The API's send endpoint (`POST /v1/emails`) beside the library's `sendEmail` at the same
 * concurrency, in one run: autocannon with 32 and 100 connections against the server listening
 * in this process, and 32 / 100 concurrent `sendEmail` loops on the same platform. Both write
 * the same three rows (email, content, outbox job) over 32 tenants, with the outbox relay
 * running in the process, as in the service. A third row sends with a fresh `Idempotency-Key`
 * per request (one more OLTP read and row per send).
 *
 *   npm run bench:api      (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_SECONDS=30)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { buildServer } from '../src/api/server.js';
import { createApiKey } from '../src/api-keys/api-keys.js';
import { OutboxRelay, relayOutbox } from '../src/cross-tier/outbox-relay.js';
import { sendEmail } from '../src/cross-tier/send-email.js';
import { benchDatabases, percentile } from './bench-databases.js';

const SECONDS = Number(process.env.FIVETIER_BENCH_SECONDS ?? 30);
const CONCURRENCIES = [32, 100];
const TENANTS = 32;

interface Result {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

const dbs = await benchDatabases('api');
// why: 100 connections each hold an OLTP and a content connection through a send
const ft = await dbs.open({ oltp: 100, content: 100 });
const tenants: Array<{ id: string; key: string }> = [];
for (let i = 0; i < TENANTS; i++) {
  const id = randomUUID();
  await ft.oltp.withTenant(id, (c) => c.query('insert into public.tenants (id, name) values ($1, $2)', [id, `bench ${i}`]));
  tenants.push({ id, key: (await createApiKey(ft, id, { name: 'bench' })).key });
}
const app = await buildServer({ fivetier: ft, rateLimit: { max: 100_000_000 } });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
const body = (i: number) => JSON.stringify({ to: `r${i}@example.com`, subject: `subject ${i}`, body: `body ${i} `.repeat(20) });

async function library(concurrency: number, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = Date.now() + seconds * 1_000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      const t0 = performance.now();
      try {
        await sendEmail(ft, { tenantId: tenants[w % TENANTS]!.id, recipient: `r${i}@example.com`, subject: `subject ${i}`, body: `body ${i} `.repeat(20) });
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, perSecond: Math.round(latencies.length / elapsed), p50: +percentile(latencies, 50).toFixed(2), p99: +percentile(latencies, 99).toFixed(2), errors };
}

async function endpoint(connections: number, seconds: number, idempotent: boolean): Promise<Result> {
  let n = 0;
  const result = await autocannon({
    url: address,
    connections,
    duration: seconds,
    requests: [{
      method: 'POST',
      path: '/v1/emails',
      setupRequest: (req) => {
        const i = n++;
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${tenants[i % TENANTS]!.key}` };
        if (idempotent) headers['idempotency-key'] = `bench-${randomBytes(12).toString('base64url')}`;
        return { ...req, headers, body: body(i) };
      },
    }],
  });
  return {
    requests: result.requests.total,
    perSecond: Math.round(result.requests.total / (result.duration || seconds)),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const relay = new OutboxRelay(ft, { pollIntervalMs: 200 });
relay.start();
const results: Record<string, Result> = {};
console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${SECONDS} s per run`);
// Warm-up, not measured: pools, prepared statements, the key cache.
await library(8, 1);
await endpoint(8, 1, false);
for (const c of CONCURRENCIES) {
  results[`library sendEmail c=${c}`] = await library(c, SECONDS);
  console.log(`library  c=${c}: ${JSON.stringify(results[`library sendEmail c=${c}`])}`);
  results[`POST /v1/emails c=${c}`] = await endpoint(c, SECONDS, false);
  console.log(`endpoint c=${c}: ${JSON.stringify(results[`POST /v1/emails c=${c}`])}`);
  results[`POST /v1/emails + Idempotency-Key c=${c}`] = await endpoint(c, SECONDS, true);
  console.log(`endpoint+key c=${c}: ${JSON.stringify(results[`POST /v1/emails + Idempotency-Key c=${c}`])}`);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('\n| run | requests | per s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.requests} | ${r.perSecond} | ${r.p50} | ${r.p99} | ${r.errors} |`);
for (const c of CONCURRENCIES) {
  const lib = results[`library sendEmail c=${c}`]!.perSecond;
  console.log(`endpoint/library at c=${c}: ${(results[`POST /v1/emails c=${c}`]!.perSecond / lib).toFixed(2)} (with Idempotency-Key ${(results[`POST /v1/emails + Idempotency-Key c=${c}`]!.perSecond / lib).toFixed(2)})`);
}
await relay.stop();
await relayOutbox(ft);
await app.close();
await ft.close();
await dbs.drop();
