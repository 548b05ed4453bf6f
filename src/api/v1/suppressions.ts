/** The suppression list: add an address, list, remove one. */
import type { FastifyPluginAsync } from 'fastify';
import { suppressAddress } from '../../campaigns/campaigns.js';
import { listSuppressions, removeSuppression } from '../../campaigns/resource-reads.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { tenantKey } from '../schemas.js';
import type { ApiContext } from './context.js';

export const suppressionRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/suppressions', {
    config: { isolation: { kind: 'tenant' } },
    schema: {
      tags: ['suppressions'], summary: 'Suppress an address (no email goes to it)', security: tenantKey,
      body: {
        type: 'object', required: ['address'],
        properties: { address: { type: 'string', maxLength: 254 }, reason: { type: 'string', enum: ['bounce', 'complaint', 'unsubscribe', 'manual'], default: 'manual' } },
      },
    },
  }, async (request, reply) => {
    const { address, reason } = request.body as { address: string; reason: 'bounce' | 'complaint' | 'unsubscribe' | 'manual' };
    const created = await suppressAddress(fivetier, tenantOf(request), address, reason);
    return reply.code(created ? 201 : 200).send({ address: address.toLowerCase(), reason, created });
  });

  app.get('/v1/suppressions', {
    config: { isolation: { kind: 'listing', resource: 'suppression' } },
    schema: {
      tags: ['suppressions'], summary: 'List suppressed addresses (after: the cursor of the last row)', security: tenantKey,
      querystring: { type: 'object', properties: { after: { type: 'string', pattern: '^[0-9a-f]{64}$' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
    },
  }, async (request) => ({ suppressions: await listSuppressions(fivetier, tenantOf(request), request.query as { after?: string; limit?: number }) }));

  app.delete('/v1/suppressions/:address', {
    config: { isolation: { kind: 'object', resource: 'suppression', param: 'address' } },
    schema: {
      tags: ['suppressions'], summary: 'Remove an address from the suppression list', security: tenantKey,
      params: { type: 'object', required: ['address'], properties: { address: { type: 'string', maxLength: 254 } } },
    },
  }, async (request, reply) => {
    const { address } = request.params as { address: string };
    if (!(await removeSuppression(fivetier, tenantOf(request), address))) throw notFound('suppressed address', address);
    return reply.code(204).send();
  });
};
