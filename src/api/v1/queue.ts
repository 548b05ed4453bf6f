/**
 * Queue administration. A tenant sees its own jobs; the operator sees every tenant's, retries
 * dead jobs, cancels queued ones, and pauses or resumes queues. A job's identity is (tenant, id),
 * so the operator's job actions name the tenant.
 */
import type { FastifyPluginAsync } from 'fastify';
import { cancelJob, listQueues, pauseQueue, queueStats, resumeQueue, retryJob } from '../../queue/operator.js';
import { getTenantJob, listAllJobs, listTenantJobs } from '../../queue/job-listings.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, operatorKey, pageQuery, tenantKey, uuid } from '../schemas.js';
import type { ApiContext } from './context.js';

const status = { type: 'string', enum: ['queued', 'dispatched', 'running', 'completed', 'dead', 'cancelled'] } as const;
const jobQuery = { type: 'object', properties: { ...pageQuery.properties, status, queue: { type: 'string', maxLength: 100 } } } as const;
type JobQuery = { status?: string; queue?: string; after?: string; limit?: number };

export const queueRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.get('/v1/jobs', {
    config: { isolation: { kind: 'listing', resource: 'job' } },
    schema: { tags: ['queue'], summary: "The caller's jobs", security: tenantKey, querystring: jobQuery },
  }, async (request) => ({ jobs: await listTenantJobs(fivetier, tenantOf(request), request.query as JobQuery) }));

  app.get('/v1/jobs/:id', {
    config: { isolation: { kind: 'object', resource: 'job' } },
    schema: { tags: ['queue'], summary: 'One of the caller\'s jobs', security: tenantKey, params: idParams },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const job = await getTenantJob(fivetier, tenantOf(request), id);
    if (!job) throw notFound('job', id);
    return job;
  });

  app.get('/v1/admin/queues', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['queue', 'operator'], summary: 'Every queue with its settings and job counts by state', security: operatorKey },
  }, async () => {
    const [queues, counts] = await Promise.all([listQueues(fivetier.queue), queueStats(fivetier.queue)]);
    return {
      queues: queues.map((q) => ({ ...q, counts: Object.fromEntries(counts.filter((c) => c.queue_name === q.name).map((c) => [c.status, c.n])) })),
    };
  });

  app.get('/v1/admin/jobs', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['queue', 'operator'], summary: "Every tenant's jobs (or tenantId's)", security: operatorKey, querystring: { ...jobQuery, properties: { ...jobQuery.properties, tenantId: uuid } } },
  }, async (request) => ({ jobs: await listAllJobs(fivetier, request.query as JobQuery & { tenantId?: string }) }));

  for (const [action, run] of [['retry', retryJob], ['cancel', cancelJob]] as const) {
    app.post(`/v1/admin/tenants/:tenantId/jobs/:id/${action}`, {
      config: { isolation: { kind: 'operator' } },
      schema: {
        tags: ['queue', 'operator'], summary: action === 'retry' ? 'Retry a dead job' : 'Cancel a queued job', security: operatorKey,
        params: { type: 'object', required: ['tenantId', 'id'], properties: { tenantId: uuid, id: uuid } },
      },
    }, async (request) => {
      const { tenantId, id } = request.params as { tenantId: string; id: string };
      return run(fivetier.queue, id, tenantId);
    });
  }

  for (const [action, run] of [['pause', pauseQueue], ['resume', resumeQueue]] as const) {
    app.post(`/v1/admin/queues/:name/${action}`, {
      config: { isolation: { kind: 'operator' } },
      schema: {
        tags: ['queue', 'operator'], summary: action === 'pause' ? 'Pause a queue (running jobs finish)' : 'Resume a paused queue', security: operatorKey,
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 100 } } },
      },
    }, async (request) => run(fivetier.queue, (request.params as { name: string }).name));
  }
};
