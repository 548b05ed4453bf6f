/**
 * Alert evaluation in the service: the implementation guide's critical alerts (a tier over 80%
 * of capacity, cross-tier consistency failures, pool exhaustion, job failures over a threshold)
 * plus a tier down, Redis dispatch down, queue depth, dead-letter growth and outbox age, on the
 * service's own figures. An alert that
 * starts firing is recorded once as a critical admin system event and notifies the operators
 * once (in-app notifications of the platform tenant's operator users); when it clears, the event
 * is resolved. While the Notifications tier is down a firing alert goes to the log and is
 * recorded once the tier answers again. The same rules ship for Prometheus in
 * ops/prometheus/fivetier-alerts.yml.
 */
import { createNotification } from '../notifications/in-app.js';
import { resolveAdminEvent } from '../notifications/admin-events.js';
import type { Fivetier } from '../platform.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { recordAdminEvent } from '../tiers/notifications/admin-events.js';
import { jobCountByQueueStatus } from '../tiers/queue/queries/jobs.js';
import { SYSTEM_TENANT_ID, TIER_NAMES } from '../types.js';
import { opsOf } from './attached.js';
import { alertsFiring, consistencyFindings, jobsFailed, jobsProcessed, outboxOldestAge, queueDeadLetters, queueDepth } from './metrics.js';

export interface AlertThresholds {
  /** Pool connections over capacity, 0..1 (default 0.8: the guide's 80%). */
  poolUtilisation: number;
  /** Failed share of job attempts between two evaluations (default 0.05) ... */
  jobFailureRatio: number;
  /** ... when at least this many attempts failed (default 5). */
  jobFailuresMin: number;
  /** Ready jobs in one queue (default 10 000). */
  queueDepth: number;
  /** Age of the oldest outbox row, in seconds (default 300). */
  outboxAgeSeconds: number;
  /** Jobs newly dead-lettered within `deadLetterWindowSeconds` (default 10) ... */
  deadLetterGrowth: number;
  /** ... the window, in seconds (default 300). */
  deadLetterWindowSeconds: number;
}

export const ALERT_THRESHOLDS_DEFAULT: Readonly<AlertThresholds> = Object.freeze({
  poolUtilisation: 0.8,
  jobFailureRatio: 0.05,
  jobFailuresMin: 5,
  queueDepth: 10_000,
  outboxAgeSeconds: 300,
  deadLetterGrowth: 10,
  deadLetterWindowSeconds: 300,
});
/** How often the alerts are evaluated, in ms. */
export const ALERT_INTERVAL_MS_DEFAULT = 15_000;

/** One condition found by an evaluation: a stable key (alert and subject) and what to say. */
export interface AlertFinding {
  alert: string;
  key: string;
  description: string;
  details: Record<string, unknown>;
}

interface Firing {
  finding: AlertFinding;
  /** The admin event, once recorded. */
  eventId?: string;
}

export interface AlertEvaluatorOptions {
  thresholds?: Partial<AlertThresholds>;
  intervalMs?: number;
  /** Operators' user ids in the platform tenant: each gets one in-app notification per alert. */
  operatorUserIds?: readonly string[];
  /** Whether this instance evaluates now (leadership); default always. */
  isLeader?: () => boolean;
  log: (line: string) => void;
}

/** A metric's current values with their labels. */
async function gaugeValues(metric: { get(): Promise<{ values: ReadonlyArray<{ value: number; labels: object }> }> }): Promise<Array<{ value: number; labels: Record<string, unknown> }>> {
  return (await metric.get()).values.map((v) => ({ value: v.value, labels: v.labels as Record<string, unknown> }));
}

/**
 * Evaluates the alert rules on a timer and records their transitions. `evaluate()` runs one
 * round (tests call it). `firing()` lists what fires now. Never throws.
 */
export class AlertEvaluator {
  readonly #ft: Fivetier;
  readonly #o: AlertEvaluatorOptions;
  readonly #thresholds: AlertThresholds;
  readonly #firing = new Map<string, Firing>();
  readonly #loop: BackgroundLoop;
  #lastJobCounts: { failed: number; processed: number } | undefined;
  /** Dead letters per queue at each evaluation within the window (oldest first). */
  #deadHistory: Array<{ at: number; byQueue: Map<string, number> }> = [];

  constructor(ft: Fivetier, options: AlertEvaluatorOptions) {
    this.#ft = ft;
    this.#o = options;
    this.#thresholds = { ...ALERT_THRESHOLDS_DEFAULT, ...options.thresholds };
    this.#loop = new BackgroundLoop('alerts', async () => {
      if (this.#o.isLeader?.() ?? true) await this.evaluate();
      return 'idle';
    }, { idleMs: options.intervalMs ?? ALERT_INTERVAL_MS_DEFAULT, onError: (err) => options.log(`alerts: ${(err as Error).message}`) });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** The alerts firing now. */
  firing(): AlertFinding[] {
    return [...this.#firing.values()].map((f) => f.finding);
  }

  /** One evaluation: find what fires, record what started, resolve what cleared. */
  async evaluate(): Promise<AlertFinding[]> {
    const found = await this.#find();
    const keys = new Set(found.map((f) => f.key));
    for (const finding of found) {
      const known = this.#firing.get(finding.key);
      if (!known) {
        this.#o.log(`alert firing: ${finding.alert} ${finding.description}`);
        this.#firing.set(finding.key, { finding });
      } else known.finding = finding;
    }
    for (const [key, f] of this.#firing) {
      if (keys.has(key)) continue;
      this.#firing.delete(key);
      this.#o.log(`alert resolved: ${f.finding.alert} ${f.finding.description}`);
      // why: an alert that fired while Notifications was down still belongs in the record
      if (!f.eventId) await this.#record(f, false);
      if (f.eventId) await resolveAdminEvent(this.#ft, f.eventId, { resolvedBy: SYSTEM_TENANT_ID, note: 'the condition cleared' }).catch((err: unknown) => this.#o.log(`alerts: could not resolve ${key}: ${(err as Error).message}`));
    }
    // Record what is not recorded yet: new alerts, and those that fired while Notifications was down.
    for (const f of this.#firing.values()) if (!f.eventId) await this.#record(f);
    alertsFiring.reset();
    for (const f of this.#firing.values()) alertsFiring.inc({ alert: f.finding.alert });
    return found;
  }

  async #record(f: Firing, notify = true): Promise<void> {
    const { finding } = f;
    const id = await recordAdminEvent(this.#ft, { eventType: `alert.${finding.alert}`, severity: 'critical', description: finding.description, details: { key: finding.key, ...finding.details } }, (line) => this.#o.log(line));
    if (!id) return; // Notifications is down: logged; recorded once it answers
    f.eventId = id;
    for (const userId of notify ? (this.#o.operatorUserIds ?? []) : []) {
      await createNotification(this.#ft, SYSTEM_TENANT_ID, {
        userId,
        type: 'ALERT',
        title: `Alert: ${finding.alert}`,
        message: finding.description,
        priority: 'urgent',
        data: { key: finding.key, eventId: id },
        dedupKey: `alert:${id}`,
      }).catch((err: unknown) => this.#o.log(`alerts: could not notify ${userId}: ${(err as Error).message}`));
    }
  }

  async #find(): Promise<AlertFinding[]> {
    const t = this.#thresholds;
    const out: AlertFinding[] = [];
    for (const h of await this.#ft.health()) {
      if (h.status === 'down') out.push({ alert: 'tier_down', key: `tier_down:${h.tier}`, description: `the ${h.tier} tier is down (${h.error ?? 'no answer'})`, details: { tier: h.tier } });
    }
    for (const tier of TIER_NAMES) {
      const client = this.#ft.tiers[tier];
      const { total, waiting } = client.poolStats();
      const max = client.config.pool.max;
      if (total / max > t.poolUtilisation) out.push({ alert: 'tier_over_capacity', key: `tier_over_capacity:${tier}`, description: `the ${tier} tier's pool holds ${total} of ${max} connections`, details: { tier, total, max } });
      if (waiting > 0 && total >= max) out.push({ alert: 'pool_exhausted', key: `pool_exhausted:${tier}`, description: `the ${tier} tier's pool is exhausted: ${waiting} calls wait for a connection`, details: { tier, waiting, max } });
    }
    const findings = (await gaugeValues(consistencyFindings)).reduce((a, v) => a + v.value, 0);
    if (findings > 0) out.push({ alert: 'consistency_failures', key: 'consistency_failures', description: `the last consistency check found ${findings} inconsistencies`, details: { findings } });
    const failed = (await gaugeValues(jobsFailed)).reduce((a, v) => a + v.value, 0);
    const processed = (await gaugeValues(jobsProcessed)).reduce((a, v) => a + v.value, 0);
    if (this.#lastJobCounts) {
      const df = failed - this.#lastJobCounts.failed;
      const dp = processed - this.#lastJobCounts.processed;
      if (df >= t.jobFailuresMin && df / (df + dp) > t.jobFailureRatio) {
        out.push({ alert: 'job_failures', key: 'job_failures', description: `${df} of ${df + dp} job attempts failed since the last evaluation`, details: { failed: df, attempts: df + dp } });
      }
    }
    this.#lastJobCounts = { failed, processed };
    const depth = new Map<string, number>();
    for (const v of await gaugeValues(queueDepth)) depth.set(String(v.labels.queue), (depth.get(String(v.labels.queue)) ?? 0) + v.value);
    for (const [queue, n] of depth) if (n > t.queueDepth) out.push({ alert: 'queue_depth', key: `queue_depth:${queue}`, description: `${n} jobs wait in the ${queue} queue`, details: { queue, depth: n } });
    if (opsOf(this.#ft).redisUp?.() === false) out.push({ alert: 'redis_down', key: 'redis_down', description: 'Redis does not answer: workers dispatch from PostgreSQL alone', details: {} });
    out.push(...(await this.#deadLetterGrowth()));
    const age = (await gaugeValues(outboxOldestAge))[0]?.value ?? 0;
    if (age > t.outboxAgeSeconds) out.push({ alert: 'outbox_age', key: 'outbox_age', description: `an outbox row has waited ${Math.round(age)} s for the relay`, details: { ageSeconds: age } });
    return out;
  }

  /**
   * Dead letters per queue now (also the `fivetier_queue_dead_letters` gauge), compared with the
   * oldest count within the window. Nothing while the queue tier is down (its alert covers it).
   */
  async #deadLetterGrowth(): Promise<AlertFinding[]> {
    const t = this.#thresholds;
    if (this.#ft.queue.state === 'down') return [];
    let rows: Array<{ queue_name: string; status: string; n: number }>;
    try {
      rows = await this.#ft.queue.withWorker((c) => jobCountByQueueStatus(c), { ownStatementsOnly: true });
    } catch (err) {
      this.#o.log(`alerts: dead letters not counted: ${(err as Error).message}`);
      return [];
    }
    const now = Date.now();
    const byQueue = new Map<string, number>();
    for (const r of rows) if (r.status === 'dead') byQueue.set(r.queue_name, r.n);
    queueDeadLetters.reset();
    for (const r of rows) queueDeadLetters.set({ queue: r.queue_name }, byQueue.get(r.queue_name) ?? 0);
    this.#deadHistory = this.#deadHistory.filter((h) => now - h.at <= t.deadLetterWindowSeconds * 1000);
    const oldest = this.#deadHistory[0];
    this.#deadHistory.push({ at: now, byQueue });
    if (!oldest) return [];
    const out: AlertFinding[] = [];
    for (const [queue, n] of byQueue) {
      const grown = n - (oldest.byQueue.get(queue) ?? 0);
      if (grown >= t.deadLetterGrowth) out.push({ alert: 'dead_letter_growth', key: `dead_letter_growth:${queue}`, description: `${grown} jobs of the ${queue} queue went to the dead letter within ${t.deadLetterWindowSeconds} s`, details: { queue, grown, dead: n } });
    }
    return out;
  }
}
