/** Campaigns: create, list, read, start, pause, and their stats (from OLAP). */
import type { FastifyPluginAsync } from 'fastify';
import { campaignStats } from '../../analytics/stats.js';
import { createCampaign, pauseCampaign, startCampaign } from '../../campaigns/campaigns.js';
import { getCampaign, listCampaigns, listLeads } from '../../campaigns/resource-reads.js';
import { FivetierError } from '../../errors/codes.js';
import type { Fivetier } from '../../platform.js';
import { isUuid } from '../../types.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, pageQuery, tenantKey, uuid } from '../schemas.js';
import type { ApiContext } from './context.js';

const DAY_MS = 86_400_000;
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

/** Every lead id of the tenant, a page at a time (for `allLeads`). */
async function allLeadIds(ft: Fivetier, tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await listLeads(ft, tenantId, { after, limit: 500 });
    for (const l of page) ids.push(l.id);
    if (page.length < 500) return ids;
    after = page[page.length - 1]!.id;
  }
}

export const campaignRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/campaigns', {
    config: { isolation: { kind: 'tenant' } },
    schema: {
      tags: ['campaigns'], summary: 'Create a draft campaign of a template for some leads (leadIds) or all of them (allLeads)', security: tenantKey,
      body: {
        type: 'object', required: ['name', 'templateId'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          templateId: uuid,
          fromAddress: { type: 'string', maxLength: 254 },
          leadIds: { type: 'array', items: uuid, maxItems: 100_000 },
          allLeads: { type: 'boolean' },
        },
      },
    },
  }, async (request, reply) => {
    const tenantId = tenantOf(request);
    const body = request.body as { name: string; templateId: string; fromAddress?: string; leadIds?: string[]; allLeads?: boolean };
    if (body.allLeads && body.leadIds) throw new FivetierError('FT_ERR_INPUT_INVALID', ['give leadIds or allLeads, not both']);
    const leadIds = body.allLeads ? await allLeadIds(fivetier, tenantId) : (body.leadIds ?? []);
    const campaign = await createCampaign(fivetier, tenantId, { name: body.name, templateId: body.templateId, fromAddress: body.fromAddress, leadIds });
    return reply.code(201).send({ ...campaign, leads: leadIds.length });
  });

  app.get('/v1/campaigns', {
    config: { isolation: { kind: 'listing', resource: 'campaign' } },
    schema: { tags: ['campaigns'], summary: 'List campaigns', security: tenantKey, querystring: pageQuery },
  }, async (request) => ({ campaigns: await listCampaigns(fivetier, tenantOf(request), request.query as { after?: string; limit?: number }) }));

  app.get('/v1/campaigns/:id', {
    config: { isolation: { kind: 'object', resource: 'campaign' } },
    schema: { tags: ['campaigns'], summary: 'Read a campaign, with its emails counted by status', security: tenantKey, params: idParams },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const campaign = await getCampaign(fivetier, tenantOf(request), id);
    if (!campaign) throw notFound('campaign', id);
    return campaign;
  });

  for (const [action, run] of [['start', startCampaign], ['pause', pauseCampaign]] as const) {
    app.post(`/v1/campaigns/:id/${action}`, {
      config: { isolation: { kind: 'object', resource: 'campaign' } },
      schema: { tags: ['campaigns'], summary: action === 'start' ? 'Start (or resume) a campaign' : 'Pause a sending campaign', security: tenantKey, params: idParams },
    }, async (request) => {
      const { id } = request.params as { id: string };
      if (!isUuid(id)) throw notFound('campaign', id);
      return run(fivetier, tenantOf(request), id);
    });
  }

  app.get('/v1/campaigns/:id/stats', {
    config: { isolation: { kind: 'object', resource: 'campaign' } },
    schema: {
      tags: ['campaigns', 'analytics'], summary: "A campaign's counters per UTC day, from OLAP (default: the last 30 days)", security: tenantKey, params: idParams,
      querystring: { type: 'object', properties: { from: day, to: day } },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const tenantId = tenantOf(request);
    // why: OLAP answers zeros for any id; the campaign must be the caller's (OLTP) to answer at all
    if (!(await getCampaign(fivetier, tenantId, id))) throw notFound('campaign', id);
    const q = request.query as { from?: string; to?: string };
    const to = q.to ?? new Date().toISOString().slice(0, 10);
    const from = q.from ?? new Date(Date.parse(to) - 29 * DAY_MS).toISOString().slice(0, 10);
    return campaignStats(fivetier, tenantId, id, { from, to });
  });
};
