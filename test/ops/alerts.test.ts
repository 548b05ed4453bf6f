import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/ops/alerts.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { JobWorker } from '../../src/queue/worker.js';
import { SYSTEM_TENANT_ID } from '../../src/types.js';
import type { Service } from '../../src/service.js';
import { openProxiedTiers, startOpsService } from './ops-harness.js';
import { waitFor } from '../helpers/poll.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import type { TierName } from '../../src/types.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { testConfig } from '../helpers/platform.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * An alert crossed for real: the OLAP tier refuses connections. The evaluator records exactly one
 * critical admin event and one operator notification however often it evaluates, and resolves
 * the event once the tier answers again.
 */
describe('alert evaluation', () => {
  let direct: Fivetier;
  let faulty: Fivetier;
  let drop: () => Promise<void>;
  let proxy: TcpProxy;
  let notificationsProxy: TcpProxy;

  beforeAll(async () => {
    let urls: Record<TierName, string>;
    ({ ft: direct, drop, urls } = await openScratchFivetier('alerts'));
    proxy = await TcpProxy.forUrl(urls.olap);
    notificationsProxy = await TcpProxy.forUrl(urls.notifications);
    faulty = await openFivetier({
      config: testConfig({
        tiers: {
          ...Object.fromEntries(Object.entries(urls).map(([t, url]) => [t, { url }])),
          olap: { url: proxy.urlFor(urls.olap) },
          notifications: { url: notificationsProxy.urlFor(urls.notifications) },
        },
      }),
      migrate: false,
    });
  });
  afterAll(async () => {
    await faulty?.close();
    await drop?.();
    await proxy?.close();
    await notificationsProxy?.close();
  });

  it('fires once per condition, notifies the operators once, and resolves when it clears', async () => {
    const operator = randomUUID();
    const lines: string[] = [];
    const alerts = new AlertEvaluator(faulty, { operatorUserIds: [operator], log: (l) => lines.push(l) });
    expect(await alerts.evaluate()).toEqual([]);

    proxy.down();
    for (let i = 0; i < 3; i++) await alerts.evaluate();
    expect(alerts.firing().map((f) => f.key)).toEqual(['tier_down:olap']);

    const events = async () =>
      (await direct.notifications.withMaintenance((c) => c.query("select id, severity, is_resolved, details->>'key' as key from public.admin_system_events where event_type = 'alert.tier_down'"))).rows;
    expect(await events()).toEqual([expect.objectContaining({ severity: 'critical', is_resolved: false, key: 'tier_down:olap' })]);
    const notes = await direct.notifications.withMaintenance((c) => c.query('select type, title from public.notifications where user_id = $1', [operator]));
    expect(notes.rows).toEqual([{ type: 'ALERT', title: 'Alert: tier_down' }]);

    proxy.up();
    // The tier's circuit closes at the watchdog's next probe (within a second or so).
    await waitFor('the OLAP circuit to close', () => faulty.olap.state === 'up', 10_000);
    await alerts.evaluate();
    expect(alerts.firing()).toEqual([]);
    expect(await events()).toEqual([expect.objectContaining({ is_resolved: true })]);
    expect(lines.some((l) => l.startsWith('alert firing: tier_down'))).toBe(true);
    expect(lines.some((l) => l.startsWith('alert resolved: tier_down'))).toBe(true);
  });

  it('logs an alert while Notifications is down and records it once the tier answers', async () => {
    const lines: string[] = [];
    const alerts = new AlertEvaluator(faulty, { log: (l) => lines.push(l) });
    const recorded = async () =>
      (await direct.notifications.withMaintenance((c) => c.query("select count(*)::int as n from public.admin_system_events where event_type = 'alert.tier_down' and details->>'key' = 'tier_down:notifications'"))).rows[0].n;
    notificationsProxy.down();
    await alerts.evaluate();
    await alerts.evaluate();
    expect(alerts.firing().map((f) => f.key)).toEqual(['tier_down:notifications']);
    expect(lines.filter((l) => l.includes('not recorded')).length).toBeGreaterThan(0);
    expect(await recorded()).toBe(0);
    // The tier answers again: the alert, cleared meanwhile, is recorded once, resolved.
    notificationsProxy.up();
    await waitFor('the Notifications circuit to close', () => faulty.notifications.state === 'up', 10_000);
    await alerts.evaluate();
    await alerts.evaluate();
    expect(await recorded()).toBe(1);
    const { rows } = await direct.notifications.withMaintenance((c) => c.query("select is_resolved from public.admin_system_events where event_type = 'alert.tier_down' and details->>'key' = 'tier_down:notifications'"));
    expect(rows).toEqual([{ is_resolved: true }]);
  });

  it('job failures over the threshold and dead letters growing: one admin event and one operator notification each, resolved when it clears', async () => {
    const operator = randomUUID();
    const lines: string[] = [];
    const alerts = new AlertEvaluator(direct, { operatorUserIds: [operator], thresholds: { jobFailuresMin: 3, jobFailureRatio: 0.5, deadLetterGrowth: 3 }, log: (l) => lines.push(l) });
    const worker = new JobWorker(direct, { queues: ['default'], pollIntervalMs: 100, concurrency: 4, redisUrl: null });
    worker.registerHandler('ops.fails', async () => {
      throw new Error('the handler fails on purpose');
    });
    await worker.start();
    try {
      expect(await alerts.evaluate()).toEqual([]);
      // Five jobs fail their only attempt: five failed attempts, five dead letters.
      const tenantId = randomUUID();
      for (let i = 0; i < 5; i++) await enqueue(direct.queue, tenantId, { type: 'ops.fails', maxAttempts: 1 });
      await waitFor('five dead letters', async () => (await direct.queue.withMaintenance((c) => c.query<{ n: number }>("select count(*)::int as n from public.jobs where tenant_id = $1 and status = 'dead'", [tenantId]))).rows[0]!.n === 5, 20_000);
      await alerts.evaluate();
      expect(alerts.firing().map((f) => f.key).sort()).toEqual(['dead_letter_growth:default', 'job_failures']);
      const events = async (type: string) =>
        (await direct.notifications.withMaintenance((c) => c.query<{ id: string; severity: string; is_resolved: boolean }>('select id, severity, is_resolved from public.admin_system_events where event_type = $1', [type]))).rows;
      const failures = await events('alert.job_failures');
      expect(failures).toEqual([expect.objectContaining({ severity: 'critical', is_resolved: false })]);
      expect(await events('alert.dead_letter_growth')).toEqual([expect.objectContaining({ severity: 'critical', is_resolved: false })]);

      // No new failures since: the job failure alert clears and its event is resolved; the dead
      // letters grew within the window, so that alert still fires, recorded once all the same.
      await alerts.evaluate();
      await alerts.evaluate();
      expect(alerts.firing().map((f) => f.key)).toEqual(['dead_letter_growth:default']);
      expect(await events('alert.job_failures')).toEqual([expect.objectContaining({ id: failures[0]!.id, is_resolved: true })]);
      expect(await events('alert.dead_letter_growth')).toEqual([expect.objectContaining({ is_resolved: false })]);
      const notes = await direct.notifications.withMaintenance((c) => c.query<{ title: string }>('select title from public.notifications where tenant_id = $1 and user_id = $2 order by title', [SYSTEM_TENANT_ID, operator]));
      expect(notes.rows.map((r) => r.title)).toEqual(['Alert: dead_letter_growth', 'Alert: job_failures']);
      expect(lines.filter((l) => l.startsWith('alert firing: job_failures'))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('alert resolved: job_failures'))).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });
});

/**
 * `fivetier start` names the operators in its settings: a service whose environment has
 * FIVETIER_ALERT_OPERATORS notifies that operator, once, of an alert that fires for real (the
 * OLAP tier refuses connections) however many evaluations see it.
 */
describe('alert settings of the service', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  let svc: Service | undefined;
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  it('notifies the operator of FIVETIER_ALERT_OPERATORS once for a firing alert', { timeout: 60_000 }, async () => {
    const operator = randomUUID();
    const bystander = randomUUID();
    const lines: string[] = [];
    env = await openProxiedTiers('alert-settings');
    svc = await startOpsService(env.proxied, { lines, env: { FIVETIER_ALERT_OPERATORS: `${operator.toUpperCase()}, ${operator}` } });
    expect(lines.some((l) => l.endsWith('alerts: 1 operator(s) notified of firing alerts'))).toBe(true);
    const notes = async (userId: string) =>
      (await env.direct.notifications.withMaintenance((c) => c.query<{ type: string; title: string }>('select type, title from public.notifications where tenant_id = $1 and user_id = $2', [SYSTEM_TENANT_ID, userId]))).rows;

    env.proxies.olap.down();
    await waitFor('the tier_down alert to fire', () => svc!.alerts.firing().some((f) => f.key === 'tier_down:olap'), 20_000);
    await waitFor('the operator notification', async () => (await notes(operator)).length > 0, 20_000);
    // why: the service evaluates every 500 ms here; a few more rounds see the same condition
    await new Promise((r) => setTimeout(r, 2_500));
    expect(svc.alerts.firing().map((f) => f.key)).toContain('tier_down:olap');
    expect((await notes(operator)).filter((n) => n.title === 'Alert: tier_down')).toEqual([{ type: 'ALERT', title: 'Alert: tier_down' }]);
    expect(await notes(bystander)).toEqual([]);
    env.proxies.olap.up();
  });

  it('stops a service whose FIVETIER_ALERT_OPERATORS is not a list of user ids, naming the variable', async () => {
    await expect(startOpsService(env.proxied, { env: { FIVETIER_ALERT_OPERATORS: 'ops@example.com' } })).rejects.toThrow(/^FIVETIER_ALERT_OPERATORS: "ops@example.com" is not a user id/);
  });
});
