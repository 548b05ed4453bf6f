/**
 * The job types fivetier defines. Queues are rows of `job_queues` (the queue tier's 0001).
 * Features register the handlers (src/service.ts wires them).
 */
import { JobRegistry, type JobDefinition } from './registry.js';

export const JOB_TYPES = Object.freeze({
  campaignProcess: 'campaign.process',
  emailSend: 'email.send',
  trackEmailSent: 'track_email_sent',
  deliveryEvent: 'delivery.event',
  campaignCompleted: 'notification.campaign_completed',
  sendNotification: 'SEND_NOTIFICATION',
  processInbound: 'process_inbound',
} as const);

const DEFINITIONS: readonly JobDefinition[] = [
  { type: JOB_TYPES.campaignProcess, queue: 'email-processing', priority: 50, timeoutMs: 300_000, maxAttempts: 10, description: "fan a campaign's leads out into email.send jobs, in batches" },
  // why: a run that finds another attempt sending the email retries until that attempt settles (its claim lasts the timeout)
  { type: JOB_TYPES.emailSend, queue: 'email-sending', priority: 100, timeoutMs: 30_000, maxAttempts: 8, description: 'render, store and deliver a group of emails over SMTP' },
  // why: ahead of email.send (100): a small job per group of sent emails, and OLAP must not lag a campaign's sends by its whole backlog
  { type: JOB_TYPES.trackEmailSent, queue: 'analytics', priority: 90, timeoutMs: 300_000, description: "count sent emails in OLAP: the tenant's usage and their campaign's analytics" },
  { type: JOB_TYPES.deliveryEvent, queue: 'analytics', priority: 150, timeoutMs: 300_000, description: 'count a delivery event (delivered, opened, clicked, replied, bounced, unsubscribed, complaint) in OLAP' },
  { type: JOB_TYPES.campaignCompleted, queue: 'default', priority: 100, timeoutMs: 15_000, description: "tell the campaign's users that it completed" },
  { type: JOB_TYPES.sendNotification, queue: 'email-sending', priority: 100, timeoutMs: 30_000, description: 'deliver an email-channel notification' },
  { type: JOB_TYPES.processInbound, queue: 'email-processing', priority: 75, timeoutMs: 60_000, description: 'process an inbound message' },
];

/** A registry with fivetier's job types defined and no handlers yet. */
export function builtInJobs(): JobRegistry {
  const registry = new JobRegistry();
  for (const d of DEFINITIONS) registry.define(d);
  return registry;
}

/** The built-in definitions, for routing without a registry instance (enqueue, the relay). */
export const BUILT_IN_JOBS: ReadonlyMap<string, JobDefinition> = new Map(DEFINITIONS.map((d) => [d.type, d]));

/**
 * Where a job of `type` goes when its caller names nothing: the registry's queue, priority and
 * attempt limit for a built-in type; the `default` queue otherwise.
 */
export function routeOf(type: string): { queue: string; priority: number; maxAttempts: number | undefined } {
  const d = BUILT_IN_JOBS.get(type);
  return { queue: d?.queue ?? 'default', priority: d?.priority ?? 100, maxAttempts: d?.maxAttempts };
}
