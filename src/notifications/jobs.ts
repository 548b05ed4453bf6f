/**
 * Handlers of the notification jobs the pipeline queues.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import type { JobHandler } from '../queue/worker.js';
import { tenantJoinedUserIds } from '../tiers/oltp/queries/tenant-members.js';
import { isUuid } from '../types.js';
import { notifyCampaignCompleted, RECIPIENTS_MAX } from './producers.js';

/** The payload `completeCampaignIfDone` queues (src/campaigns/process-campaign.ts). */
export interface CampaignCompletedPayload {
  campaign_id: string;
  name: string;
  sent: number;
  failed: number;
  suppressed: number;
}

/**
 * `notification.campaign_completed`: tell the tenant's joined users. Idempotent through the
 * producer's dedup key (one notification per campaign and user however often the job runs).
 */
export function campaignCompletedHandler(ft: Fivetier): JobHandler {
  return async (job) => {
    const p = job.payload as Partial<CampaignCompletedPayload> | null;
    if (!isUuid(p?.campaign_id)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['notification.campaign_completed: payload.campaign_id must be a uuid']);
    const userIds = await ft.oltp.withTenant(job.tenantId, (c) => tenantJoinedUserIds(c, RECIPIENTS_MAX));
    if (userIds.length === 0) return; // nobody has joined the tenant: nobody to tell
    await notifyCampaignCompleted(ft, job.tenantId, {
      campaignId: p.campaign_id,
      name: p.name ?? '',
      userIds,
      sent: p.sent ?? 0,
      failed: p.failed ?? 0,
      suppressed: p.suppressed ?? 0,
    });
  };
}
