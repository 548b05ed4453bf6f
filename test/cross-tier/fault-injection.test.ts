import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency, OutboxRelay, relayOutbox, sendEmail, sweepOrphans, type ProtocolStep } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { openFivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { spawnScript } from '../helpers/processes.js';
import { testConfig } from '../helpers/platform.js';

/**
 * Must-show 2: real faults at every step of the protocol over 1,000+ randomised sends.
 * - In process: OLTP, content and queue connections go through TCP proxies; before or during
 *   a randomly chosen step (each insert, each commit) the tier's connections are cut.
 * - The relay runs throughout against the proxied tiers while its connections are cut at
 *   random and the queue tier goes down for a while.
 * - Child processes kill themselves (SIGKILL) between the content and the OLTP commit.
 * Then recovery (relay, sweeper, checker): I1, I2, I3 hold with zero exceptions, and every
 * send that returned success is fully present.
 */

const IN_PROCESS_SENDS = 1_000;
const CONCURRENCY = 4;
const CHILDREN = 5;
const CHILD_SENDS = 20;
const STEPS: ProtocolStep[] = ['insert-oltp', 'insert-content', 'insert-queue', 'commit-content', 'commit-oltp'];
const STEP_TIER: Record<ProtocolStep, 'oltp' | 'content'> = {
  'insert-oltp': 'oltp',
  'insert-content': 'content',
  'insert-queue': 'oltp',
  'commit-content': 'content',
  'commit-oltp': 'oltp',
};

interface Sent {
  tenantId: string;
  emailId: string;
  storageKey: string;
  jobId: string;
  body: string;
}

async function childRun(env: Record<string, string>, args: string[]): Promise<{ out: string; signal: NodeJS.Signals | null }> {
  const child = spawnScript('test/cross-tier/fixtures/send-until-killed.ts', args, env);
  const { signal } = await child.ended;
  return { out: child.output(), signal };
}

describe('fault injection over the cross-tier protocol', () => {
  let direct: Fivetier;
  let faulty: Fivetier;
  let drop: () => Promise<void>;
  let urls: Record<TierName, string>;
  const proxies = {} as Record<'oltp' | 'content' | 'queue', TcpProxy>;

  beforeAll(async () => {
    ({ ft: direct, drop, urls } = await openScratchFivetier('faults'));
    for (const t of ['oltp', 'content', 'queue'] as const) proxies[t] = await TcpProxy.forUrl(urls[t]);
    faulty = await openFivetier({
      config: testConfig({
        tiers: {
          oltp: { url: proxies.oltp.urlFor(urls.oltp), pool: { max: 8 } },
          content: { url: proxies.content.urlFor(urls.content), pool: { max: 8 } },
          queue: { url: proxies.queue.urlFor(urls.queue), pool: { max: 4 } },
          olap: { url: urls.olap },
          notifications: { url: urls.notifications },
        },
        systemPoolMax: 3,
      }),
      migrate: false,
    });
  });
  afterAll(async () => {
    await faulty?.close();
    await drop?.();
    for (const p of Object.values(proxies)) await p.close();
  });

  it('keeps I1, I2, I3 and every successful send through cut connections, a queue outage and killed processes', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const tenants = await Promise.all(Array.from({ length: CONCURRENCY }, () => createTenant(direct)));
    const sent: Sent[] = [];
    const failures: Record<string, number> = {};
    const faultsAt: Record<string, number> = {};
    const succeededDespite: Record<string, number> = {};

    // The relay runs against the proxied tiers the whole time; chaos cuts its connections.
    let relayFailures = 0;
    const relay = new OutboxRelay(faulty, { batchSize: 50, pollIntervalMs: 50, backoffBaseMs: 20, backoffMaxMs: 400, onPass: (p) => p.error && relayFailures++ });
    relay.start();
    const chaos = setInterval(() => {
      const r = Math.random();
      if (r < 0.4) proxies.queue.cut();
      else if (r < 0.5) proxies.oltp.cut();
    }, 120);

    // Child processes killed between the two commits, in parallel with the in-process sends.
    const childEnv = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, urls[t]]));
    const childTenants = await Promise.all(Array.from({ length: CHILDREN }, () => createTenant(direct)));
    const children = Promise.all(childTenants.map(async (tenantId) => {
      const killAt = Math.floor(Math.random() * CHILD_SENDS);
      const { out, signal } = await childRun(childEnv, [tenantId, String(CHILD_SENDS), String(killAt)]);
      expect(signal, out).toBe('SIGKILL');
      const oks = out.split('\n').filter((l) => l.startsWith('ok '));
      expect(oks, out).toHaveLength(killAt);
      for (const line of oks) {
        const [, emailId, storageKey, jobId, i] = line.split(' ');
        sent.push({ tenantId, emailId: emailId!, storageKey: storageKey!, jobId: jobId!, body: `child body ${i}` });
      }
      return killAt + 1;
    }));

    let next = 0;
    let queueOutage: Promise<void> | undefined;
    // why: while a tier's circuit is open sends fail before their first step, so a run can reach
    // IN_PROCESS_SENDS with some step seldom faulted; go on (bounded) until every step was hit
    const stepsShort = () => STEPS.some((step) => (faultsAt[step] ?? 0) <= 10);
    const worker = async (tenantId: string) => {
      while (next < IN_PROCESS_SENDS || (stepsShort() && next < 4 * IN_PROCESS_SENDS)) {
        const i = next++;
        if (i === Math.floor(IN_PROCESS_SENDS / 2)) {
          // The queue tier goes away for a second: sends are still accepted (outbox).
          proxies.queue.down();
          queueOutage = new Promise((r) => setTimeout(() => (proxies.queue.up(), r()), 1_000));
        }
        const fault = Math.random() < 0.4 ? undefined : STEPS[Math.floor(Math.random() * STEPS.length)]!;
        const during = Math.random() < 0.5;
        let reached = false;
        const body = `body ${i} ${Math.random().toString(36).slice(2)}`;
        try {
          const result = await sendEmail(faulty, { tenantId, recipient: `r${i}@example.com`, subject: `s${i}`, body }, {
            beforeStep: (step) => {
              if (step !== fault) return;
              reached = true;
              faultsAt[step] = (faultsAt[step] ?? 0) + 1;
              const proxy = proxies[STEP_TIER[step]];
              // Before the step, or a moment into it (mid-statement, mid-COMMIT).
              if (during) setTimeout(() => proxy.cut(), Math.random() * 3);
              else proxy.cut();
            },
          });
          sent.push({ tenantId, ...result, body });
          if (fault) succeededDespite[fault] = (succeededDespite[fault] ?? 0) + 1;
        } catch (err) {
          const key = `${fault ?? 'none'}:${(err as { code?: string }).code ?? (err as Error).message}`;
          failures[key] = (failures[key] ?? 0) + 1;
          // why: a cut during a connection's set-up opens the tier's circuit, and an open circuit
          // fails a send before its first step in no time: without a pause, a run spends its sends
          // while the circuit is open and some step is seldom faulted at all.
          if (!reached && (err as { code?: string }).code === 'FT_ERR_TIER_UNAVAILABLE') await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    await Promise.all(tenants.map(worker));
    await queueOutage;
    const childSends = (await children).reduce((a, b) => a + b, 0);
    clearInterval(chaos);
    for (const p of Object.values(proxies)) p.up();
    await relay.stop();

    // Recovery: drain the outbox, sweep orphans (grace 0: nothing is in flight), check.
    await relayOutbox(direct);
    const allTenants = [...tenants, ...childTenants];
    let swept = 0;
    for (const tenantId of allTenants) swept += (await sweepOrphans(direct, { tenantId, graceSeconds: 0 })).deleted;
    for (const tenantId of allTenants) {
      const report = await checkConsistency(direct, { tenantId, outboxAgeSeconds: 0, orphanGraceSeconds: 0, record: false });
      expect(report.findings, tenantId).toEqual({ I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } });
    }

    // Every send that returned success is fully present: email, content (same body), job.
    const emails = await direct.oltp.withMaintenance((c) => c.query('select tenant_id, id, content_storage_key from emails where tenant_id = any($1)', [allTenants]));
    const content = await direct.content.withMaintenance((c) => c.query('select tenant_id, storage_key, content_text from content_objects where tenant_id = any($1)', [allTenants]));
    const jobs = await direct.queue.withMaintenance((c) => c.query("select tenant_id, id, payload->>'email_id' as email_id, job_type, queue_name from jobs where tenant_id = any($1)", [allTenants]));
    const emailById = new Map(emails.rows.map((r) => [r.id, r]));
    const contentByKey = new Map(content.rows.map((r) => [r.storage_key, r]));
    const jobById = new Map(jobs.rows.map((r) => [r.id, r]));
    const missing: string[] = [];
    for (const s of sent) {
      const e = emailById.get(s.emailId);
      const c = contentByKey.get(s.storageKey);
      const j = jobById.get(s.jobId);
      if (!e || e.content_storage_key !== s.storageKey || e.tenant_id !== s.tenantId) missing.push(`email ${s.emailId}`);
      if (!c || c.content_text !== s.body || c.tenant_id !== s.tenantId) missing.push(`content ${s.storageKey}`);
      if (!j || j.email_id !== s.emailId || j.job_type !== 'track_email_sent' || j.queue_name !== 'analytics') missing.push(`job ${s.jobId}`);
    }
    expect(missing).toEqual([]);
    // Exactly one job per committed email (I2), and no email without its job.
    expect(jobs.rows.length).toBe(emails.rows.length);

    const failed = Object.values(failures).reduce((a, b) => a + b, 0);
    const summary = {
      sends: next + childSends,
      succeeded: sent.length,
      failed,
      killedChildren: CHILDREN,
      faultsAt,
      failures,
      succeededDespite,
      relayFailures,
      connectionsCut: Object.fromEntries(Object.entries(proxies).map(([t, p]) => [t, p.cuts])),
      orphansSwept: swept,
      emails: emails.rows.length,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(`fault injection: ${JSON.stringify(summary)}`);
    expect(summary.sends).toBeGreaterThanOrEqual(1_000);
    for (const step of STEPS) expect(faultsAt[step], step).toBeGreaterThan(10);
    expect(relayFailures).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  });
});
