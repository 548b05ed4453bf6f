/**
 * The handlers of the built-in job types, wired to one platform: what `fivetier start` runs.
 */
import { trackEmailSentHandler } from '../analytics/track-job.js';
import { processCampaignHandler } from '../campaigns/process-campaign.js';
import type { FivetierConfig } from '../config/config.js';
import { deliveryEventHandler } from '../email/delivery-events.js';
import { sendEmailHandler, type SendJobOptions } from '../email/send-job.js';
import { createMailTransport, type MailTransport } from '../email/transport.js';
import { sendNotificationHandler } from '../notifications/email-job.js';
import { campaignCompletedHandler } from '../notifications/jobs.js';
import type { Fivetier } from '../platform.js';
import { JobWorker, type JobHandler, type WorkerOptions } from '../queue/worker.js';
import { builtInJobs, JOB_TYPES, routeOf } from './built-in.js';
import type { JobRegistry } from './registry.js';

export interface Pipeline {
  registry: JobRegistry;
  transport: MailTransport;
  close(): void;
}

/** The built-in job types with their handlers, delivering through `config.mail`. */
export function builtInPipeline(ft: Fivetier, config: FivetierConfig, options: Pick<SendJobOptions, 'afterDelivery'> & { smtpConnections?: number } = {}): Pipeline {
  const transport = createMailTransport({ smtpUrl: config.mail.smtpUrl, mailDir: config.mail.dir, connections: options.smtpConnections });
  const registry = builtInJobs()
    .handle(JOB_TYPES.campaignProcess, processCampaignHandler(ft))
    .handle(JOB_TYPES.emailSend, sendEmailHandler(ft, { transport, defaultFrom: config.mail.from, ...options }))
    .handle(JOB_TYPES.trackEmailSent, trackEmailSentHandler(ft))
    .handle(JOB_TYPES.deliveryEvent, deliveryEventHandler(ft))
    .handle(JOB_TYPES.campaignCompleted, campaignCompletedHandler(ft))
    .handle(JOB_TYPES.sendNotification, sendNotificationHandler(ft, { transport, defaultFrom: config.mail.from }));
  return { registry, transport, close: () => transport.close() };
}

/**
 * A queue worker (not started) that runs `handlers`, on the queues their job types route to.
 * why: the queues come from the job types, so starting needs nothing of the queue tier, which may
 * be down (the worker then backs off until it answers). `options.queues` overrides them.
 */
export function workerFor(ft: Fivetier, handlers: Iterable<readonly [string, JobHandler]>, options: WorkerOptions = {}): JobWorker {
  const list = [...handlers];
  const worker = new JobWorker(ft, { queues: [...new Set(list.map(([type]) => routeOf(type).queue))], ...options });
  for (const [type, handler] of list) worker.registerHandler(type, handler);
  return worker;
}
