/**
 * Consistency reports (operator): run the cross-tier check now, for one tenant or all, and
 * answer its report; list the open findings the scheduled checks recorded (admin events).
 */
import type { FastifyPluginAsync } from 'fastify';
import { checkConsistency } from '../../cross-tier/consistency-checker.js';
import { listOpenAdminEvents } from '../../notifications/admin-events.js';
import { operatorKey, uuid } from '../schemas.js';
import type { ApiContext } from './context.js';

export const consistencyRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/admin/consistency-reports', {
    config: { isolation: { kind: 'operator' } },
    schema: {
      tags: ['operator'], summary: 'Check the cross-tier invariants (I1-I3) now and answer the report; findings also raise an admin event', security: operatorKey,
      body: { type: 'object', properties: { tenantId: uuid, sampleSize: { type: 'integer', minimum: 0, maximum: 100 } } },
    },
  }, async (request, reply) => {
    const body = (request.body ?? {}) as { tenantId?: string; sampleSize?: number };
    return reply.code(201).send(await checkConsistency(fivetier, { tenantId: body.tenantId, sampleSize: body.sampleSize }));
  });

  app.get('/v1/admin/consistency-reports', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['operator'], summary: 'Open (unresolved) findings of the consistency checks, newest first, from the admin events', security: operatorKey },
  }, async () => {
    const events = await listOpenAdminEvents(fivetier, { limit: 500 });
    return { reports: events.filter((e) => e.event_type === 'consistency_check_failed') };
  });
};
