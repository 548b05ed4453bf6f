/**
 * What `fivetier status` shows, gathered in one place: each tier's health and migration state,
 * its pool settings and the connections fivetier holds on its server, queue depth by state, the
 * outbox backlog and its age, the last run of each maintenance task (consistency check,
 * retention, orphan sweep), the alerts that fire (their open admin events) and erasures in
 * progress. Each part is read on its own: a tier that is down leaves its parts with an error and
 * the rest of the report intact. Never throws.
 */
import pg from 'pg';
import { redactUrls } from '../config/redact.js';
import { lastMaintenanceRuns, type MaintenanceRunRow } from '../lifecycle/maintenance-runs.js';
import { migrationState } from '../migrate/migration-state.js';
import { checkHealth, type HealthReport } from '../ops/health.js';
import type { Fivetier } from '../platform.js';
import { queueStats } from '../queue/operator.js';
import { alertEventsOpen } from '../tiers/notifications/queries/lifecycle.js';
import { erasuresList } from '../tiers/oltp/queries/lifecycle.js';
import { outboxBacklog } from '../tiers/oltp/queries/outbox.js';
import { connectionsByRole } from '../tiers/server-activity.js';
import { TIER_NAMES, type TierName } from '../types.js';

/** A part that could not be read says why. */
export type Part<T> = T | { error: string };

export interface StatusReport {
  status: HealthReport['status'];
  checkedAt: string;
  tiers: Record<TierName, HealthReport['tiers'][TierName] & { migration: string; where: 'embedded' | 'on the OLTP server' | 'url' }>;
  pools: Record<TierName, { max: number; connections: Part<Array<{ role: string; connections: number; active: number }>> }>;
  queue: Part<{ byState: Record<string, number>; byQueue: Array<{ queue: string; state: string; jobs: number }> }>;
  outbox: Part<{ count: number; oldestAgeSeconds: number }>;
  maintenance: Part<MaintenanceRunRow[]>;
  alerts: Part<Array<{ id: string; event_type: string; description: string; created_at: Date }>>;
  erasures: Part<Array<{ id: string; tenant_id: string; kind: string; step: string; created_at: Date }>>;
}

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return await read();
  } catch (err) {
    // why: a message may quote a URL; status output must never show a password
    return { error: redactUrls((err as Error).message) };
  }
}

/** Gather the status report. */
export async function collectStatus(ft: Fivetier): Promise<StatusReport> {
  const [health, states] = await Promise.all([checkHealth(ft), Promise.all(TIER_NAMES.map((t) => migrationState(t, ft.adminUrl(t)).catch(() => undefined)))]);
  const tiers = {} as StatusReport['tiers'];
  const pools = {} as StatusReport['pools'];
  await Promise.all(
    TIER_NAMES.map(async (t, i) => {
      const where = ft.embedded.includes(t) ? 'embedded' : ft.config.tiers[t].urlFrom === 'oltp-server' ? 'on the OLTP server' : 'url';
      tiers[t] = { ...health.tiers[t], migration: states[i] ?? 'unknown', where };
      pools[t] = {
        max: ft.config.tiers[t].pool.max,
        connections: health.tiers[t].status !== 'up' ? { error: `the ${t} tier is down` } : await part(async () => {
          const client = new pg.Client({ connectionString: ft.adminUrl(t), connectionTimeoutMillis: 2_000 });
          client.on('error', () => {});
          await client.connect();
          try {
            return await connectionsByRole(client, t);
          } finally {
            await client.end().catch(() => {});
          }
        }),
      };
    }),
  );
  // why: a tier that is down or not migrated has nothing to read; say so rather than a login error
  const usable = (t: TierName) => async <T>(read: () => Promise<T>): Promise<Part<T>> => {
    const migration = tiers[t].migration;
    if (migration !== 'current' && migration !== 'unknown') return { error: migration.startsWith('not migrated') ? `the ${t} tier is ${migration}` : `the ${t} tier: ${migration}` };
    if (tiers[t].status !== 'up') return { error: `the ${t} tier is down` };
    return part(read);
  };
  const [queue, outbox, maintenance, alerts, erasures] = await Promise.all([
    usable('queue')(async () => {
      const rows = await queueStats(ft.queue);
      const byState: Record<string, number> = {};
      for (const r of rows) byState[r.status] = (byState[r.status] ?? 0) + Number(r.n);
      return { byState, byQueue: rows.map((r) => ({ queue: r.queue_name, state: r.status, jobs: Number(r.n) })) };
    }),
    usable('oltp')(() => ft.oltp.withWorker((c) => outboxBacklog(c))),
    usable('notifications')(() => lastMaintenanceRuns(ft)),
    usable('notifications')(() => ft.notifications.withMaintenance((c) => alertEventsOpen(c, 20))),
    usable('oltp')(() => ft.oltp.withMaintenance((c) => erasuresList(c))),
  ]);
  return { status: health.status, checkedAt: health.checkedAt, tiers, pools, queue, outbox, maintenance, alerts, erasures };
}

const isError = (p: unknown): p is { error: string } => typeof p === 'object' && p !== null && 'error' in p && !Array.isArray(p);

/** The report as the text `fivetier status` prints: one table per part. */
export function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  for (const tier of TIER_NAMES) {
    const h = r.tiers[tier];
    const state = h.migration;
    const detail =
      state !== 'unknown' && state !== 'current'
        ? state.startsWith('newer') ? state : `${state}: run fivetier migrate`
        : h.latencyMs !== undefined
          ? `${h.latencyMs} ms`
          : (h.error ?? '');
    lines.push(`${tier.padEnd(14)} ${h.status.padEnd(5)} ${detail} (${h.where})`);
  }
  lines.push(`overall: ${r.status}`);

  lines.push('', 'POOL           MAX   CONNECTIONS AT THE SERVER (role: open/active)');
  for (const tier of TIER_NAMES) {
    const p = r.pools[tier];
    const conns = isError(p.connections) ? `unavailable (${p.connections.error})` : p.connections.length === 0 ? 'none' : p.connections.map((c) => `${c.role}: ${c.connections}/${c.active}`).join(', ');
    lines.push(`${tier.padEnd(14)} ${String(p.max).padEnd(5)} ${conns}`);
  }

  lines.push('', 'QUEUE');
  if (isError(r.queue)) lines.push(`  unavailable (${r.queue.error})`);
  else {
    const states = ['queued', 'dispatched', 'running', 'completed', 'dead', 'cancelled'];
    const byState = r.queue.byState;
    lines.push(`  ${states.map((s) => `${s} ${byState[s] ?? 0}`).join('  ')}`);
    for (const q of r.queue.byQueue) lines.push(`  ${q.queue.padEnd(24)} ${q.state.padEnd(11)} ${q.jobs}`);
  }

  lines.push('', 'OUTBOX');
  lines.push(isError(r.outbox) ? `  unavailable (${r.outbox.error})` : `  ${r.outbox.count} waiting${r.outbox.count ? `, oldest ${Math.round(r.outbox.oldestAgeSeconds)} s` : ''}`);

  lines.push('', 'MAINTENANCE (last run)');
  if (isError(r.maintenance)) lines.push(`  unavailable (${r.maintenance.error})`);
  else {
    const check = r.maintenance.find((m) => m.task === 'consistency-check');
    if (!check) lines.push('  consistency-check    never recorded (run fivetier check)');
    for (const m of r.maintenance) lines.push(`  ${m.task.padEnd(20)} ${m.finished_at.toISOString()} ${m.ok ? 'ok' : 'FAILED'} ${JSON.stringify(m.summary)}`);
  }

  lines.push('', 'ALERTS');
  if (isError(r.alerts)) lines.push(`  unavailable (${r.alerts.error})`);
  else if (r.alerts.length === 0) lines.push('  none firing');
  else for (const a of r.alerts) lines.push(`  ${a.event_type.padEnd(28)} since ${a.created_at.toISOString()}: ${a.description}`);

  if (!isError(r.erasures) && r.erasures.length > 0) {
    lines.push('', 'ERASURES IN PROGRESS (run them again to finish)');
    for (const e of r.erasures) lines.push(`  ${e.kind.padEnd(7)} tenant ${e.tenant_id} at step ${e.step} since ${e.created_at.toISOString()}`);
  }
  return lines.join('\n');
}
