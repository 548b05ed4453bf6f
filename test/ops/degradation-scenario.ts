import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { tenantUsage } from '../../src/analytics/stats.js';
import { getContent } from '../../src/content/read.js';
import { checkConsistency } from '../../src/cross-tier/consistency-checker.js';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import { listNotifications } from '../../src/notifications/in-app.js';
import type { HealthReport } from '../../src/ops/health.js';
import type { OpsSnapshot } from '../../src/ops/ops-snapshot.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import type { Service } from '../../src/service.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { SYSTEM_TENANT_ID, TIER_NAMES, type TierName } from '../../src/types.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { getJson, NOTE_JOB, startOpsService } from './ops-harness.js';
import { waitFor } from '../helpers/poll.js';

/** The calls of the test traffic, each touching the tiers its name says. */
export type Op = 'send' | 'oltp-read' | 'oltp-write' | 'content-read' | 'olap-read' | 'enqueue' | 'notifications-read';
const OPS: readonly Op[] = ['send', 'oltp-read', 'oltp-write', 'content-read', 'olap-read', 'enqueue', 'notifications-read'];

/**
 * Which calls a tier's outage affects; every other call must keep answering (DESIGN.md section
 * 7): OLTP down leaves notification reads, content reads by key, OLAP reads and jobs that need no
 * OLTP; Content down leaves OLTP reads and writes that need no body; OLAP down leaves everything
 * operational; Queue down leaves sends (outbox); Notifications down leaves everything else.
 */
export const AFFECTED: Record<TierName, readonly Op[]> = {
  oltp: ['send', 'oltp-read', 'oltp-write'],
  content: ['send', 'content-read'],
  olap: ['olap-read'],
  queue: ['enqueue'],
  notifications: ['notifications-read'],
};

type Phase = 'before' | 'cutting' | 'outage' | 'restoring' | 'after';
interface Call {
  op: Op;
  started: Phase;
  ended: Phase;
  ms: number;
  error?: { code?: string; message: string };
}

export type Mode = 'refuse' | 'blackhole';

/**
 * One tier cut while the service runs with light traffic through the library, then restored:
 * - before: every call answers;
 * - once the tier's circuit is open: the affected calls fail within 1 s with
 *   FT_ERR_TIER_UNAVAILABLE naming the tier, every other call keeps answering, `/health` and the
 *   dashboard's data show the tier down with its circuit open, and the `tier_down` alert fires:
 *   one critical admin event, one operator notification (for Notifications itself: logged, and
 *   recorded once the tier returns);
 * - after it returns, without a restart: everything answers again, the outbox drains, every job
 *   completes (notifications recorded late, OLAP caught up), and the consistency check is clean.
 */
export async function degradation(tier: TierName, mode: Mode, env: { direct: Fivetier; proxied: Record<TierName, string>; proxies: Record<TierName, TcpProxy> }): Promise<void> {
  const { direct, proxies } = env;
  const proxy = proxies[tier];
  const lines: string[] = [];
  const operator = randomUUID();
  const noteUser = randomUUID();
  const startedAt = new Date();
  const svc: Service = await startOpsService(env.proxied, { lines, alerts: { operatorUserIds: [operator] } });
  const ft = svc.fivetier;
  let phase: Phase = 'before';
  const calls: Call[] = [];
  const sent: string[] = [];
  const notes: string[] = [];
  let running = true;
  try {
    const tenantId = (await createTenant(ft, { name: `degradation ${tier} ${mode}` })).id;
    const first = await sendEmail(ft, { tenantId, recipient: 'first@example.com', body: 'first body' });
    sent.push(first.emailId);

    const run: Record<Op, () => Promise<unknown>> = {
      send: async () => sent.push((await sendEmail(ft, { tenantId, recipient: 'r@example.com', subject: 's', body: `body ${Math.random()}` })).emailId),
      'oltp-read': () => ft.oltp.withTenant(tenantId, (c) => c.query('select count(*) from public.emails')),
      'oltp-write': () => ft.oltp.withTenant(tenantId, (c) => c.query('update public.tenants set name = $1 where id = $2', [`degradation ${tier} ${Date.now()}`, tenantId])),
      'content-read': async () => {
        if (!(await getContent(ft, tenantId, first.storageKey))) throw new Error('content missing');
      },
      'olap-read': () => tenantUsage(ft, tenantId),
      enqueue: async () => {
        const id = randomUUID();
        await enqueue(ft.queue, tenantId, { id, type: NOTE_JOB, payload: { userId: noteUser } });
        notes.push(id);
      },
      'notifications-read': () => listNotifications(ft, tenantId, noteUser, { limit: 5 }),
    };
    const loops = OPS.map(async (op) => {
      while (running) {
        const started = phase;
        const t0 = performance.now();
        let error: Call['error'];
        try {
          await run[op]();
        } catch (err) {
          error = { code: (err as { code?: string }).code, message: (err as Error).message };
        }
        // why: the test server's connection slots are shared with other test runs; running out
        // of them says nothing about the tier under test, so such a call does not count
        if (!error?.message.includes('too many connections')) calls.push({ op, started, ended: phase, ms: performance.now() - t0, ...(error ? { error } : {}) });
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    // Before: every call answers.
    await waitFor('traffic before the cut', () => OPS.every((op) => calls.some((c) => c.op === op && c.started === 'before')), 10_000);
    const before = calls.filter((c) => c.started === 'before' && c.error);
    expect(before, JSON.stringify(before)).toEqual([]);

    // Cut: refuse connections, or accept them and answer nothing.
    phase = 'cutting';
    if (mode === 'refuse') proxy.down();
    else proxy.freeze();
    await waitFor(`the ${tier} circuit to open`, () => ft.tiers[tier].state === 'down', 15_000);
    phase = 'outage';
    const outageFrom = calls.length;
    await new Promise((r) => setTimeout(r, 2_500));

    // /health and the dashboard show the tier down, its circuit open.
    const health = await waitFor('/health with only that tier down', async () => {
      const h = await getJson<HealthReport>(svc, '/health');
      return TIER_NAMES.every((t) => t === tier || h.body.tiers[t].status === 'up') ? h : undefined;
    }, 10_000);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.tiers[tier]).toMatchObject({ status: 'down', circuit: 'open' });
    for (const t of TIER_NAMES) if (t !== tier) expect(health.body.tiers[t].status, t).toBe('up');
    const dashboard = await getJson<OpsSnapshot>(svc, '/dashboard/data.json');
    expect(dashboard.body.tiers.find((t) => t.tier === tier)).toMatchObject({ status: 'down', circuit: 'open' });

    // The alert fires: logged now; recorded as one admin event (Notifications: once it returns).
    await waitFor('the tier_down alert', () => svc.alerts.firing().some((f) => f.key === `tier_down:${tier}`), 10_000);
    expect(lines.filter((l) => l.includes(`alert firing: tier_down the ${tier} tier is down`))).toHaveLength(1);
    if (tier !== 'notifications') await waitFor('the admin event', async () => (await alertEvents(direct, tier, startedAt)).length === 1, 10_000);

    // During the outage: the affected calls fail fast naming the tier; the rest keep answering.
    const during = calls.slice(outageFrom).filter((c) => c.started === 'outage' && c.ended === 'outage');
    for (const op of OPS) expect(during.filter((c) => c.op === op).length, `${op} calls during the outage`).toBeGreaterThan(0);
    for (const c of during) {
      if (AFFECTED[tier].includes(c.op)) {
        expect(c.error?.code, `${c.op}: ${JSON.stringify(c)}`).toBe('FT_ERR_TIER_UNAVAILABLE');
        expect(c.error?.message).toContain(`the ${tier} tier is unavailable`);
        expect(c.ms, `${c.op} failed in ${Math.round(c.ms)} ms`).toBeLessThan(1_000);
      } else expect(c.error, `${c.op} must keep answering while ${tier} is down: ${JSON.stringify(c)}`).toBeUndefined();
    }
    if (tier === 'oltp') {
      // Jobs that need no OLTP keep running: notes enqueued during the outage complete.
      const enqueuedDuring = notes.slice(-3);
      await waitFor('notes completed during the OLTP outage', async () => (await jobStates(direct, tenantId, enqueuedDuring)).every((s) => s === 'completed'), 10_000);
    }

    // The tier returns: picked up without a restart.
    phase = 'restoring';
    if (mode === 'refuse') proxy.up();
    else proxy.thaw();
    await waitFor(`the ${tier} circuit to close`, () => ft.tiers[tier].state === 'up', 15_000);
    phase = 'after';
    await waitFor('/health up', async () => (await getJson<HealthReport>(svc, '/health')).body.status === 'up', 15_000);
    const afterFrom = calls.length;
    await waitFor('calls after the outage', () => OPS.every((op) => calls.slice(afterFrom).some((c) => c.op === op && c.started === 'after')), 10_000);
    running = false;
    await Promise.all(loops);
    const afterErrors = calls.slice(afterFrom).filter((c) => c.started === 'after' && c.error);
    expect(afterErrors, JSON.stringify(afterErrors)).toEqual([]);

    // Nothing written before or during the outage is lost (read directly, past the proxies).
    await waitFor('the outbox drained', async () => Number((await direct.oltp.withMaintenance((c) => c.query('select count(*) as n from public.outbox'))).rows[0].n) === 0, 20_000);
    let lastStates = '';
    await waitFor('every job completed', async () => {
      const { rows } = await direct.queue.withMaintenance((c) => c.query<{ status: string; n: number }>('select status, count(*)::int as n from public.jobs where tenant_id = $1 group by 1', [tenantId]));
      lastStates = JSON.stringify(rows);
      return rows.length === 1 && rows[0]!.status === 'completed';
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; job states ${lastStates}`);
    });
    // A call cut mid-commit may fail and yet have committed (its outcome is in doubt): every call
    // that succeeded is there, and whatever is there is complete.
    const jobs = await slots(() => direct.queue.withMaintenance((c) => c.query<{ id: string; job_type: string }>('select id, job_type from public.jobs where tenant_id = $1', [tenantId])));
    const noteJobs = new Set(jobs.rows.filter((r) => r.job_type === NOTE_JOB).map((r) => r.id));
    expect(notes.filter((id) => !noteJobs.has(id))).toEqual([]);
    const emails = await slots(() => direct.oltp.withMaintenance((c) => c.query<{ id: string }>('select id from public.emails where tenant_id = $1', [tenantId])));
    const emailIds = new Set(emails.rows.map((r) => r.id));
    expect(sent.filter((id) => !emailIds.has(id))).toEqual([]);
    expect(jobs.rows.filter((r) => r.job_type === 'track_email_sent').length).toBe(emailIds.size);
    // Notifications recorded (late, when Notifications was the tier down): one per note job.
    const noted = await slots(() => direct.notifications.withMaintenance((c) => c.query<{ n: number }>("select count(*)::int as n from public.notifications where tenant_id = $1 and user_id = $2 and type = 'NOTE'", [tenantId, noteUser])));
    expect(noted.rows[0]!.n).toBe(noteJobs.size);
    // OLAP caught up: every email counted once.
    expect((await slots(() => tenantUsage(direct, tenantId))).emailsSent).toBe(emailIds.size);
    // `fivetier check`: clean.
    const report = await slots(() => checkConsistency(direct, { record: false }));
    expect(report.findings, JSON.stringify(report.findings)).toEqual({ I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } });

    // The alert fired once: one admin event, one operator notification; resolved once it cleared.
    await waitFor('the alert resolved', () => !svc.alerts.firing().some((f) => f.key === `tier_down:${tier}`), 10_000);
    const events = (await waitFor('the alert recorded and resolved', async () => {
      const e = await alertEvents(direct, tier, startedAt);
      return e.length === 1 && e[0]!.is_resolved ? e : undefined;
    }, 15_000))!;
    expect(events).toHaveLength(1);
    expect(events[0]!.severity).toBe('critical');
    const operatorNotes = await slots(() => direct.notifications.withMaintenance((c) => c.query<{ title: string; data: { eventId: string } }>("select title, data from public.notifications where tenant_id = $1 and user_id = $2 and type = 'ALERT'", [SYSTEM_TENANT_ID, operator])));
    const aboutThisTier = operatorNotes.rows.filter((r) => r.data.eventId === events[0]!.id);
    // why: an alert recorded only after it cleared (Notifications down throughout) notifies nobody
    if (tier === 'notifications') expect(aboutThisTier.length).toBeLessThanOrEqual(1);
    else expect(aboutThisTier).toHaveLength(1);
    expect(lines.filter((l) => l.includes(`alert firing: tier_down the ${tier} tier`))).toHaveLength(1);
    console.log(`degradation ${tier}/${mode}: ${calls.length} calls, ${sent.length} sends, ${notes.length} notes; during the outage ${during.length} calls, affected ones failed in at most ${Math.round(Math.max(0, ...during.filter((c) => AFFECTED[tier].includes(c.op)).map((c) => c.ms)))} ms`);
  } catch (err) {
    // why: what the service logged is what explains a failure here
    (err as Error).message += `\nservice log:\n${lines.slice(-80).join('\n')}`;
    throw err;
  } finally {
    running = false;
    proxy.up();
    proxy.thaw();
    await svc.stop();
  }
}

async function alertEvents(direct: Fivetier, tier: TierName, since: Date) {
  const { rows } = await direct.notifications.withMaintenance((c) =>
    c.query<{ id: string; severity: string; is_resolved: boolean }>("select id, severity, is_resolved from public.admin_system_events where event_type = 'alert.tier_down' and details->>'key' = $1 and created_at >= $2", [`tier_down:${tier}`, since]),
  );
  return rows;
}

async function jobStates(direct: Fivetier, tenantId: string, ids: string[]): Promise<string[]> {
  const { rows } = await direct.queue.withMaintenance((c) => c.query<{ status: string }>('select status from public.jobs where tenant_id = $1 and id = any($2::uuid[])', [tenantId, ids]));
  return rows.length === ids.length ? rows.map((r) => r.status) : [];
}

/** `fn`, tried again while the shared test server has no connection slot left (SQLSTATE 53300). */
async function slots<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 20 || !String((err as Error).message).includes('too many connections')) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
