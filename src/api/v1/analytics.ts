/** Analytics of the caller's tenant: usage in a month against the plan's quota (campaign stats: campaigns.ts). */
import type { FastifyPluginAsync } from 'fastify';
import { tenantUsage } from '../../analytics/stats.js';
import { tenantQuota } from '../../campaigns/resource-reads.js';
import { tenantOf } from '../auth.js';
import { tenantKey } from '../schemas.js';
import type { ApiContext } from './context.js';

export const analyticsRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.get('/v1/analytics/usage', {
    config: { isolation: { kind: 'tenant' } },
    schema: {
      tags: ['analytics'], summary: "Emails sent in a UTC month (OLAP) against the plan's monthly quota (OLTP)", security: tenantKey,
      querystring: { type: 'object', properties: { month: { type: 'string', pattern: '^\\d{4}-\\d{2}$' } } },
    },
  }, async (request) => {
    const tenantId = tenantOf(request);
    const { month } = request.query as { month?: string };
    const [usage, plan] = await Promise.all([tenantUsage(fivetier, tenantId, { month }), tenantQuota(fivetier, tenantId)]);
    return { ...usage, plan: plan.slug, quota: plan.quota, remaining: plan.quota === null ? null : Math.max(0, plan.quota - usage.emailsSent) };
  });
};
