/**
 * The `campaign.process` job: fans a sending campaign's leads out into emails and their
 * `email.send` jobs (40 emails per job), 500 leads per OLTP transaction (keyset on lead id: never all leads in
 * memory), recording how far it got in the same transaction, so a crash, a deploy or a pause
 * resumes exactly there and no lead gets a second email. On resume it also queues a new job for
 * every email still `queued` (their jobs ran while the campaign was paused). A campaign with
 * nothing left to send completes here; otherwise the last email's outcome completes it.
 */
import { FivetierError } from '../errors/codes.js';
import { BUILT_IN_JOBS, JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import type { JobHandler } from '../queue/worker.js';
import { campaignFanoutBatch, campaignRequeueQueued } from '../tiers/oltp/queries/campaign-emails.js';
import { campaignCompleteIfDone, campaignFanoutAdvance, campaignGet } from '../tiers/oltp/queries/campaigns.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';
import { isUuid } from '../types.js';

/** These transactions run only their own statements: no session reset after them. */
const OWN = Object.freeze({ ownStatementsOnly: true });
/** Leads per fan-out transaction. */
export const FANOUT_BATCH_DEFAULT = 500;
/**
 * Emails per `email.send` job of the fan-out (at most SEND_JOB_EMAILS_MAX), claimed
 * SEND_JOB_CHUNK at a time. Two chunks per job halve the jobs, and with them the queue's writes
 * and the campaign-completion checks per message (bench/pipeline.ts). Not more: a job holds a
 * worker slot until its last delivery, and the analytics jobs behind a campaign wait for slots
 * (at 60 the OLAP lag p99 neared its 5 s bound).
 */
export const EMAILS_PER_SEND_JOB_DEFAULT = 40;

export function processCampaignHandler(ft: Fivetier, options: { batchSize?: number; emailsPerJob?: number } = {}): JobHandler {
  const batchSize = options.batchSize ?? FANOUT_BATCH_DEFAULT;
  const emailsPerJob = options.emailsPerJob ?? EMAILS_PER_SEND_JOB_DEFAULT;
  const send = BUILT_IN_JOBS.get(JOB_TYPES.emailSend)!;
  return async (job) => {
    const payload = job.payload as { campaign_id?: unknown; resume?: unknown } | null;
    const campaignId = payload?.campaign_id;
    if (!isUuid(campaignId)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`campaign.process: payload.campaign_id must be a uuid`]);
    const tenantId = job.tenantId;
    for (;;) {
      if (job.signal.aborted) throw job.signal.reason;
      const step = await ft.oltp.withTenant(tenantId, async (c) => {
        const campaign = await campaignGet(c, campaignId, true);
        if (!campaign || campaign.status !== 'sending') return 'stopped' as const; // paused, deleted or done
        if (campaign.fanout_done) return 'fanned-out' as const;
        const r = await campaignFanoutBatch(c, { tenantId, campaignId, after: campaign.fanout_after, limit: batchSize, queue: send.queue, jobType: send.type, priority: send.priority, emailsPerJob });
        const done = r.leads < batchSize;
        await campaignFanoutAdvance(c, campaignId, r.lastLead, done);
        return done ? ('fanned-out' as const) : ('more' as const);
      }, OWN);
      if (step === 'stopped') return;
      if (step === 'fanned-out') break;
    }
    if (payload?.resume === true) {
      await ft.oltp.withTenant(tenantId, (c) => campaignRequeueQueued(c, { tenantId, campaignId, queue: send.queue, jobType: send.type, priority: send.priority, emailsPerJob }), OWN);
    }
    await completeCampaignIfDone(ft, tenantId, campaignId);
  };
}

/**
 * Complete the campaign if its fan-out is done and no email waits, and queue the
 * "campaign completed" notification in the same transaction. Returns whether this call
 * completed it (exactly one call does).
 */
export async function completeCampaignIfDone(ft: Fivetier, tenantId: string, campaignId: string): Promise<boolean> {
  const notify = BUILT_IN_JOBS.get(JOB_TYPES.campaignCompleted)!;
  return ft.oltp.withTenant(tenantId, async (c) => {
    const done = await campaignCompleteIfDone(c, campaignId);
    if (!done) return false;
    await outboxInsert(c, {
      tenantId,
      queueName: notify.queue,
      jobType: notify.type,
      payload: { campaign_id: campaignId, name: done.name, sent: done.sent, failed: done.failed, suppressed: done.suppressed },
      priority: notify.priority,
      runAt: new Date(),
    });
    return true;
  }, OWN);
}
