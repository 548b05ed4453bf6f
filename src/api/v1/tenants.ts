/** Tenants (operator only): create, list, read. */
import type { FastifyPluginAsync } from 'fastify';
import { createTenant } from '../../tenants/tenants.js';
import { getTenant, listTenants } from '../../tenants/tenant-reads.js';
import { notFound } from '../errors.js';
import { operatorKey, pageQuery } from '../schemas.js';
import type { ApiContext } from './context.js';

export const tenantRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/tenants', {
    config: { isolation: { kind: 'operator' } },
    schema: {
      tags: ['tenants'], summary: 'Create a tenant', security: operatorKey,
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 200 } } },
    },
  }, async (request, reply) => {
    const { name } = request.body as { name: string };
    return reply.code(201).send(await createTenant(fivetier, { name }));
  });

  app.get('/v1/tenants', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['tenants'], summary: 'List tenants', security: operatorKey, querystring: pageQuery },
  }, async (request) => ({ tenants: await listTenants(fivetier, request.query as { after?: string; limit?: number }) }));

  app.get('/v1/tenants/:tenantId', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['tenants'], summary: 'Read a tenant', security: operatorKey, params: { type: 'object', required: ['tenantId'], properties: { tenantId: { type: 'string', maxLength: 200 } } } },
  }, async (request) => {
    const { tenantId } = request.params as { tenantId: string };
    const tenant = await getTenant(fivetier, tenantId);
    if (!tenant) throw notFound('tenant', tenantId);
    return tenant;
  });
};
