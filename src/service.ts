/**
 * The service's composition root: everything `fivetier start` runs, built in one place so the
 * CLI only parses arguments and tests start the very same service in-process.
 *
 * - the platform (the five tiers; embedded default for tiers without a URL; a tier that is down
 *   is left down and migrated when it answers),
 * - the HTTP API (`/health`, `/metrics`, the `/v1` resources, `/docs`, the operations dashboard
 *   at `/dashboard`, operator only; operator key from FIVETIER_OPERATOR_KEY or, on the embedded
 *   default, the data folder's operator-key file),
 * - the cross-tier background work (outbox relay, orphan sweep, consistency check),
 * - a queue worker for the job types that have handlers (none means no worker: relayed jobs
 *   wait, queued, for a process that has them).
 */
import type { FastifyInstance } from 'fastify';
import { buildServer } from './api/server.js';
import { resolveOperatorKey } from './api-keys/operator-key.js';
import { loadConfig, type FivetierConfig } from './config/config.js';
import { startCrossTierServices } from './cross-tier/maintenance-schedule.js';
import { startUpkeep } from './cross-tier/upkeep-schedule.js';
import { openFivetier, type Fivetier } from './platform.js';
import type { JobHandler, WorkerOptions } from './queue/worker.js';
import { WORKER_CONCURRENCY_DEFAULT, type JobWorker } from './queue/worker.js';
import { AlertEvaluator, type AlertEvaluatorOptions } from './ops/alerts.js';
import { attachOps } from './ops/attached.js';
import { leader as leaderGauge } from './ops/metrics.js';
import { RedisLink } from './queue/redis-link.js';
import { Leadership } from './runtime/leadership.js';
import { builtInPipeline, workerFor } from './jobs/pipeline.js';
import { TIER_NAMES } from './types.js';
import { trackingSecrets } from './tracking/secrets.js';

/** The advisory lock (on the OLTP tier) whose holder runs the singleton maintenance. */
export const MAINTENANCE_LEADER_LOCK_KEY = 0x66697665; // 'five'

export interface ServiceOptions {
  /** Default: `loadConfig(process.env)`. */
  config?: FivetierConfig;
  /** One line per event worth an operator's eye. Default: nothing. */
  log?: (line: string) => void;
  /**
   * Job handlers to run in this process, by job type. Default: every built-in job type's
   * (campaigns, sending, analytics, notifications), delivering mail through `config.mail`.
   */
  handlers?: Readonly<Record<string, JobHandler>>;
  /** Worker settings (concurrency, queues, ...). */
  worker?: WorkerOptions;
  /** Intervals of the scheduled maintenance, in ms (tests shorten them). */
  sweepIntervalMs?: number;
  checkIntervalMs?: number;
  /** Alert evaluation: interval, thresholds, operators to notify (default: `config.alerts`, FIVETIER_ALERT_*; these win). */
  alerts?: Omit<AlertEvaluatorOptions, 'log' | 'isLeader'>;
  partitionsIntervalMs?: number;
  expiryIntervalMs?: number;
  retentionIntervalMs?: number;
  statisticsIntervalMs?: number;
  /** How often an instance that does not lead tries to take the maintenance leadership, in ms (default 2000). */
  leadershipRetryMs?: number;
}

/** A running service. */
export interface Service {
  readonly fivetier: Fivetier;
  readonly http: FastifyInstance;
  /** `http://host:port` the API listens on. */
  readonly address: string;
  /** The queue worker, when this process runs handlers. */
  readonly worker: JobWorker | undefined;
  /** The service's alert evaluation (what fires now). */
  readonly alerts: AlertEvaluator;
  /** Stop the HTTP API, the background work, the worker, then the platform. Resolves false when something failed to stop (logged). */
  stop(): Promise<boolean>;
}

/**
 * Start the service. Throws on a bad configuration, an embedded server that cannot start, a
 * migration that fails for another reason than its tier being unreachable, or an HTTP port in
 * use; whatever started before the failure is stopped again.
 */
export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const config = options.config ?? loadConfig(process.env);
  const log = options.log ?? (() => {});
  const ft = await openFivetier({ config, log });
  // why: stop taking requests first, then background work, then running jobs, then the mail
  // transport and the pools
  const stops: Record<'http' | 'alerts' | 'crossTier' | 'upkeep' | 'leadership' | 'worker' | 'redis' | 'mail' | 'platform', (() => Promise<void>) | undefined> = {
    http: undefined,
    redis: undefined,
    alerts: undefined,
    crossTier: undefined,
    upkeep: undefined,
    leadership: undefined,
    worker: undefined,
    mail: undefined,
    platform: () => ft.close(),
  };
  const stopAll = async () => {
    let clean = true;
    for (const [part, stop] of Object.entries(stops)) {
      stops[part as keyof typeof stops] = undefined;
      await stop?.().catch((err: unknown) => {
        clean = false;
        log(`shutdown: ${part}: ${(err as Error).message}`);
      });
    }
    return clean;
  };
  try {
    for (const t of TIER_NAMES) log(`${t}: ${ft.embedded.includes(t) ? 'embedded' : 'external'}`);
    if (!config.redisUrl) log('QUEUE_REDIS_URL is not set: the queue dispatches from PostgreSQL alone');

    const operatorKey = resolveOperatorKey({ fromEnv: config.api.operatorKey, dataDir: ft.embedded.includes('oltp') ? config.embedded.dataDir : undefined, log });
    const http = await buildServer({ fivetier: ft, operatorKey, log });
    const address = await http.listen({ host: config.http.host, port: config.http.port });
    stops.http = () => http.close();

    // One leader among the instances on these tiers runs the singleton work (sweep, check, alerts).
    const leadership = new Leadership({ connect: () => ft.oltp.poolFor('maintenance').connect(), key: MAINTENANCE_LEADER_LOCK_KEY, name: 'maintenance', log, ...(options.leadershipRetryMs ? { retryMs: options.leadershipRetryMs } : {}) });
    leadership.on('gained', () => leaderGauge.set(1)).on('lost', () => leaderGauge.set(0));
    leaderGauge.set(0);
    leadership.start();
    stops.leadership = () => leadership.stop();
    const isLeader = () => leadership.isLeader;
    const crossTier = startCrossTierServices(ft, { log, sweepIntervalMs: options.sweepIntervalMs, checkIntervalMs: options.checkIntervalMs, isLeader });
    stops.crossTier = () => crossTier.stop();
    log('outbox relay started; orphan sweep every 10 min, consistency check every hour');
    const generated = trackingSecrets(config).source;
    if (generated.file) log(`tracking: ${[generated.tracking === 'generated' && 'FIVETIER_TRACKING_SECRET', generated.webhook === 'generated' && 'FIVETIER_WEBHOOK_SECRET'].filter(Boolean).join(' and ')} not set: using the secret generated into ${generated.file} (instances that share these tiers must share it)`);
    // The configuration (FIVETIER_ALERT_*) first, then the options: an option wins, threshold by threshold.
    const operatorUserIds = options.alerts?.operatorUserIds ?? config.alerts.operatorUserIds;
    const alerts = new AlertEvaluator(ft, {
      ...options.alerts,
      intervalMs: options.alerts?.intervalMs ?? config.alerts.intervalMs,
      operatorUserIds,
      thresholds: { ...config.alerts.thresholds, ...options.alerts?.thresholds },
      // why: the leadership lock lives in OLTP; with OLTP down no instance leads, yet its outage must alert
      isLeader: () => isLeader() || !leadership.lockReachable,
      log,
    });
    log(operatorUserIds.length > 0 ? `alerts: ${operatorUserIds.length} operator(s) notified of firing alerts` : 'alerts: no FIVETIER_ALERT_OPERATORS: firing alerts are logged and recorded as admin events, nobody is notified');
    alerts.start();
    stops.alerts = () => alerts.stop();
    // why: /health, the alerts and the dashboard report Redis dispatch; a link of its own keeps
    // that true in a process without a worker too
    let redis: RedisLink | undefined;
    if (config.redisUrl) {
      const link = new RedisLink(config.redisUrl);
      redis = link;
      stops.redis = async () => link.stop();
      link.on('change', (up) => log(`redis: ${up ? 'up' : 'down; workers dispatch from PostgreSQL alone'}`));
      await link.start();
    }
    attachOps(ft, { firingAlerts: () => alerts.firing(), isLeader, ...(redis ? { redisUp: () => redis.up } : {}) });
    const upkeep = startUpkeep(ft, { log, partitionsIntervalMs: options.partitionsIntervalMs, expiryIntervalMs: options.expiryIntervalMs, retentionIntervalMs: options.retentionIntervalMs, statisticsIntervalMs: options.statisticsIntervalMs, isLeader });
    stops.upkeep = () => upkeep.stop();
    log('upkeep started; stale table statistics every 5 s, OLAP partitions ahead and retention daily, notification expiry hourly');

    let handlers: Array<[string, JobHandler]>;
    if (options.handlers) handlers = Object.entries(options.handlers);
    else {
      // why: a delivery holds its SMTP connection through the sent commit: one per running send
      const pipeline = builtInPipeline(ft, config, { smtpConnections: options.worker?.concurrency ?? WORKER_CONCURRENCY_DEFAULT });
      stops.mail = async () => pipeline.close();
      handlers = [...pipeline.registry.handlers()];
      log(`mail: ${config.mail.smtpUrl ? `SMTP ${pipeline.transport.describe}` : `no SMTP_URL: each message is written as an .eml file into ${pipeline.transport.describe}`}`);
    }
    let worker: JobWorker | undefined;
    if (handlers.length > 0) {
      worker = workerFor(ft, handlers, { log: (line) => log(`queue: ${line}`), ...options.worker });
      await worker.start();
      const running = worker;
      stops.worker = async () => void (await running.stop());
    } else {
      log('queue: no job handlers registered in this process: jobs stay queued for a worker that has them');
    }

    return { fivetier: ft, http, address, worker, alerts, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
