import { randomUUID } from 'node:crypto';
import { analyticsEventId } from '../../src/analytics/events.js';
import { recordEvent } from '../../src/analytics/record-events.js';
import { getContent } from '../../src/content/read.js';
import { createNotification } from '../../src/notifications/in-app.js';
import type { Fivetier } from '../../src/platform.js';
import type { JobHandler } from '../../src/queue/worker.js';
import { startService, type Service, type ServiceOptions } from '../../src/service.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { loadConfig } from '../../src/config/config.js';
import { testRolePassword } from '../helpers/platform.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/** The campaign the test traffic's analytics events count under. */
export const TRAFFIC_CAMPAIGN_ID = '00000000-0000-4000-8000-00000000c0de';
/** The operator key of every service the harness starts (the dashboard takes nothing else). */
export const OPS_OPERATOR_KEY = `ops-operator-${randomUUID()}`;
/** Job type of the traffic's notification jobs: Queue and Notifications only (no OLTP). */
export const NOTE_JOB = 'ops.note';

/**
 * Scratch tiers of their own (the relay and the alerts work across tenants), each behind a TCP
 * proxy, opened directly as `direct` for the test's own reads.
 */
export async function openProxiedTiers(label: string): Promise<{ direct: Fivetier; urls: Record<TierName, string>; proxied: Record<TierName, string>; proxies: Record<TierName, TcpProxy>; close: () => Promise<void> }> {
  const { ft: direct, urls, drop } = await openScratchFivetier(label);
  const proxies = {} as Record<TierName, TcpProxy>;
  const proxied = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) {
    proxies[t] = await TcpProxy.forUrl(urls[t]);
    proxied[t] = proxies[t].urlFor(urls[t]);
  }
  return {
    direct,
    urls,
    proxied,
    proxies,
    close: async () => {
      await drop();
      for (const p of Object.values(proxies)) await p.close();
    },
  };
}

/**
 * The test traffic's job handlers, run by the service's worker on the service's platform:
 * `track_email_sent` needs OLTP (the email), Content (its body) and OLAP (the count);
 * `ops.note` needs Notifications only (one in-app notification per job, deduplicated by job id).
 */
export function trafficHandlers(ft: () => Fivetier): Record<string, JobHandler> {
  return {
    track_email_sent: async (job) => {
      const emailId = (job.payload as { email_id: string }).email_id;
      const { rows } = await ft().oltp.withTenant(job.tenantId, (c) => c.query<{ created_at: Date; key: string }>('select created_at, content_storage_key as key from public.emails where id = $1', [emailId]));
      if (!rows[0]) return;
      const body = await getContent(ft(), job.tenantId, rows[0].key);
      if (!body) throw new Error(`no content for email ${emailId}`);
      await recordEvent(ft(), { eventId: analyticsEventId(`${emailId}:sent`), tenantId: job.tenantId, type: 'sent', campaignId: TRAFFIC_CAMPAIGN_ID, occurredAt: rows[0].created_at });
    },
    [NOTE_JOB]: async (job) => {
      const { userId } = job.payload as { userId: string };
      await createNotification(ft(), job.tenantId, { userId, type: 'NOTE', title: 'note', message: `job ${job.id}`, dedupKey: `note:${job.id}` });
    },
  };
}

/**
 * A service on the proxied tiers, with short intervals so an outage shows within seconds. `env`:
 * FIVETIER_* settings read as `fivetier start` reads them (the test's own settings win).
 */
export async function startOpsService(proxied: Record<TierName, string>, options: Partial<ServiceOptions> & { redisUrl?: string; lines?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Service> {
  let service: Service | undefined;
  const { redisUrl, lines = [], worker, alerts, env = {}, ...rest } = options;
  const svc = await startService({
    config: loadConfig(env, {
      rolePassword: testRolePassword(),
      api: { operatorKey: OPS_OPERATOR_KEY },
      // why: the test server's connections are shared with every other test: small pools
      tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: proxied[t], pool: { max: 5 } }])),
      http: { host: '127.0.0.1', port: 0 },
      tierTimeoutMs: 1_500,
      redisUrl,
      systemPoolMax: 3,
    }),
    log: (line) => lines.push(`${new Date().toISOString()} ${line}`),
    handlers: trafficHandlers(() => service!.fivetier),
    worker: { concurrency: 4, pollIntervalMs: 200, metricsIntervalMs: 1_000, rescueIntervalMs: 1_000, redisPrefix: `ops-${randomUUID().slice(0, 8)}`, ...worker },
    leadershipRetryMs: 300,
    ...rest,
    // why: pools this small are often full; capacity alerts would only be noise here
    alerts: { intervalMs: 500, ...alerts, thresholds: { poolUtilisation: 1, ...alerts?.thresholds } },
  });
  service = svc;
  return svc;
}

/** GET a JSON document of the service, as the operator (the dashboard needs the key; /health ignores it). */
export async function getJson<T = any>(svc: Service, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${svc.address}${path}`, { headers: { authorization: `Bearer ${OPS_OPERATOR_KEY}` } });
  return { status: res.status, body: (await res.json()) as T };
}

