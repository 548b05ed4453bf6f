/**
 * The email pipeline end to end: a campaign of N leads (default 20,000) through the service that
 * `fivetier start` runs (campaign.process fan-out, email.send: render, store, deliver), into an
 * SMTP sink in another process; beside a baseline that sends the same N pre-rendered messages
 * with a bare pooled nodemailer transport and no database. Prints emails/s of both, their ratio,
 * and the OLAP freshness lag (an email marked sent in OLTP to the same count visible in OLAP's
 * campaign stats) p50/p99 under that load.
 *
 *   npm run bench:pipeline   (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_REDIS_URL, FIVETIER_BENCH_LEADS=20000,
 *                             FIVETIER_BENCH_CONCURRENCY=50, FIVETIER_BENCH_ONLY=baseline|pipeline)
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import nodemailer from 'nodemailer';
import { campaignStats } from '../src/analytics/index.js';
import { createCampaign, createTemplate, importLeads, LEADS_PER_CALL_MAX, startCampaign } from '../src/campaigns/campaigns.js';
import { loadConfig } from '../src/config/config.js';
import { compileTemplate, renderEmail } from '../src/email/render.js';
import { startService } from '../src/service.js';
import { createTenant } from '../src/tenants/tenants.js';
import { TIER_NAMES } from '../src/types.js';
import { benchDatabases, percentile } from './bench-databases.js';

const LEADS = Number(process.env.FIVETIER_BENCH_LEADS ?? 20_000);
const CONCURRENCY = Number(process.env.FIVETIER_BENCH_CONCURRENCY ?? 50);
const ONLY = process.env.FIVETIER_BENCH_ONLY;
const TEMPLATE = { name: 'bench', subject: 'Hello {{ name }}', content: `<p>Dear {{ name }} of {{ company }},</p>${'<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>'.repeat(20)}` };
const leads = Array.from({ length: LEADS }, (_, i) => ({ email: `lead${i}@example.com`, name: `Lead ${i}`, company: `Company ${i % 97}` }));

/** The sink process: its port, and the count of messages it accepted. */
async function startSink(): Promise<{ url: string; count: () => Promise<number>; cpuMs: () => Promise<number>; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/smtp-sink-process.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const port = Number((await next()).split(' ')[1]);
  return {
    url: `smtp://127.0.0.1:${port}`,
    count: async () => {
      const answer = next();
      child.stdin!.write('count\n');
      return Number((await answer).split(' ')[1]);
    },
    cpuMs: async () => {
      const answer = next();
      child.stdin!.write('cpu\n');
      return Number((await answer).split(' ')[1]);
    },
    stop: () => child.stdin!.write('exit\n'),
  };
}

/** CPU time of this process, in ms. */
function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * CPU time of the PostgreSQL processes whose title names `cluster` (Debian titles them
 * `postgres: 15/bench: ...`), in ms; 0 where /proc is not there. Backends that exited are not
 * counted: the service's pools keep theirs open for the run.
 */
function postgresCpuMs(cluster: string): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`postgres: ${cluster}`)) continue;
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return 0;
  }
  return (ticks * 1000) / 100; // USER_HZ
}
const PG_CLUSTER = process.env.FIVETIER_BENCH_PG_CLUSTER ?? '15/bench';

async function waitForCount(count: () => Promise<number>, n: number, onTick?: () => Promise<void>): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const now = await count();
    if (now >= n) return;
    if (now !== last) [last, lastChange] = [now, performance.now()];
    // why: a run that stopped delivering must end with a message, not wait forever
    if (performance.now() - lastChange > 60_000) throw new Error(`the sink got ${now} of ${n} messages and nothing more for 60 s`);
    await onTick?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${LEADS} leads, concurrency ${CONCURRENCY}`);
const results: Record<string, { seconds: number; perSecond: number }> = {};

if (ONLY !== 'pipeline') {
  // Baseline: nodemailer's pooled SMTP transport at its best here: as many connections as the
  // pipeline's worker concurrency, unlimited messages per connection, messages rendered up front.
  const sink = await startSink();
  const compiled = compileTemplate(TEMPLATE);
  const rendered = await Promise.all(leads.map((l) => renderEmail(compiled, l)));
  const transport = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity });
  const [cpu0, sinkCpu0] = [ownCpuMs(), await sink.cpuMs()];
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < LEADS) {
      const i = next++;
      await transport.sendMail({ from: 'bench@example.com', to: leads[i]!.email, subject: rendered[i]!.subject, html: rendered[i]!.html });
    }
  }));
  await waitForCount(sink.count, LEADS);
  const seconds = (performance.now() - started) / 1000;
  results.baseline = { seconds, perSecond: Math.round(LEADS / seconds) };
  console.log(`baseline: ${LEADS} messages in ${seconds.toFixed(1)} s, ${results.baseline.perSecond}/s; CPU ms per 1,000 messages: sender ${Math.round(((ownCpuMs() - cpu0) * 1000) / LEADS)}, sink ${Math.round((((await sink.cpuMs()) - sinkCpu0) * 1000) / LEADS)}`);
  transport.close();
  sink.stop();
}

if (ONLY !== 'baseline') {
  const sink = await startSink();
  const dbs = await benchDatabases('pipeline');
  const redisUrl = process.env.FIVETIER_BENCH_REDIS_URL;
  const service = await startService({
    config: loadConfig({}, {
      tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: dbs.urls[t], pool: { max: 30 } }])) as never,
      redisUrl,
      http: { port: 0 },
      mail: { smtpUrl: sink.url, from: 'bench@example.com' },
      systemPoolMax: 20,
    }),
    worker: { concurrency: CONCURRENCY, pollIntervalMs: 100, redisPrefix: `ft-bench-${process.pid}` },
  });
  const ft = service.fivetier;
  const { id: tenantId } = await createTenant(ft, { name: 'bench' });
  const template = await createTemplate(ft, tenantId, TEMPLATE);
  const leadIds: string[] = [];
  for (let i = 0; i < LEADS; i += LEADS_PER_CALL_MAX) leadIds.push(...(await importLeads(ft, tenantId, leads.slice(i, i + LEADS_PER_CALL_MAX))));
  const campaign = await createCampaign(ft, tenantId, { name: 'bench', templateId: template.id, leadIds });

  // OLAP freshness: when OLTP first showed n sent, and when OLAP's campaign stats first showed n.
  const oltpAt: Array<[number, number]> = [];
  const lags: number[] = [];
  let olapSeen = 0;
  const sample = async () => {
    const now = performance.now();
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ n: number }>("select count(*)::int as n from public.emails where campaign_id = $1 and status = 'sent'", [campaign.id]));
    oltpAt.push([now, rows[0]!.n]);
    const day = new Date();
    const stats = await campaignStats(ft, tenantId, campaign.id, { from: new Date(day.getTime() - 86_400_000), to: new Date(day.getTime() + 86_400_000) });
    const olap = stats.totals.sent;
    if (olap > olapSeen) {
      const first = oltpAt.find(([, n]) => n >= olap);
      if (first) lags.push(now - first[0]);
      olapSeen = olap;
    }
  };
  let lastSample = 0;
  const tick = async () => {
    if (performance.now() - lastSample < 200) return;
    lastSample = performance.now();
    await sample();
  };

  const [cpu0, sinkCpu0, pgCpu0] = [ownCpuMs(), await sink.cpuMs(), postgresCpuMs(PG_CLUSTER)];
  const started = performance.now();
  await startCampaign(ft, tenantId, campaign.id);
  await waitForCount(sink.count, LEADS, tick);
  const seconds = (performance.now() - started) / 1000;
  results.pipeline = { seconds, perSecond: Math.round(LEADS / seconds) };
  console.log(`pipeline: ${LEADS} messages in ${seconds.toFixed(1)} s, ${results.pipeline.perSecond}/s (dispatch ${redisUrl ? 'redis' : 'postgres'}); CPU ms per 1,000 messages: service ${Math.round(((ownCpuMs() - cpu0) * 1000) / LEADS)} (with the OLAP sampling), sink ${Math.round((((await sink.cpuMs()) - sinkCpu0) * 1000) / LEADS)}, PostgreSQL ${Math.round(((postgresCpuMs(PG_CLUSTER) - pgCpu0) * 1000) / LEADS)}`);
  const olapDeadline = performance.now() + 30_000;
  while (olapSeen < LEADS && performance.now() < olapDeadline) {
    await new Promise((r) => setTimeout(r, 200));
    await sample();
  }
  lags.sort((a, b) => a - b);
  console.log(`OLAP freshness lag over ${lags.length} samples: p50 ${Math.round(percentile(lags, 50))} ms, p99 ${Math.round(percentile(lags, 99))} ms (OLAP saw ${olapSeen} of ${LEADS})`);
  await service.stop();
  sink.stop();
  await dbs.drop();
}

if (results.baseline && results.pipeline) console.log(`ratio pipeline/baseline: ${(results.pipeline.perSecond / results.baseline.perSecond).toFixed(2)}`);
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
