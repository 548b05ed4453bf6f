/** A tenant's API keys (operator only): create (the key is shown in this answer only), list, revoke. */
import type { FastifyPluginAsync } from 'fastify';
import { createApiKey, listApiKeys, revokeApiKey } from '../../api-keys/api-keys.js';
import { getTenant } from '../../tenants/tenant-reads.js';
import { notFound } from '../errors.js';
import { operatorKey } from '../schemas.js';
import type { ApiContext } from './context.js';

const tenantParams = { type: 'object', required: ['tenantId'], properties: { tenantId: { type: 'string', maxLength: 200 } } } as const;

export const apiKeyRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier, verifier }) => {
  const existingTenant = async (tenantId: string) => {
    const tenant = await getTenant(fivetier, tenantId);
    if (!tenant) throw notFound('tenant', tenantId);
    return tenant.id;
  };

  app.post('/v1/tenants/:tenantId/api-keys', {
    config: { isolation: { kind: 'operator' } },
    schema: {
      tags: ['api keys'], summary: 'Create an API key for a tenant; the key is in this answer only (it is stored hashed)', security: operatorKey,
      params: tenantParams,
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } },
    },
  }, async (request, reply) => {
    const tenantId = await existingTenant((request.params as { tenantId: string }).tenantId);
    const { key, apiKey } = await createApiKey(fivetier, tenantId, { name: (request.body as { name: string }).name });
    return reply.code(201).header('cache-control', 'no-store').send({ ...apiKey, key });
  });

  app.get('/v1/tenants/:tenantId/api-keys', {
    config: { isolation: { kind: 'operator' } },
    schema: { tags: ['api keys'], summary: "List a tenant's API keys (prefixes, never the keys)", security: operatorKey, params: tenantParams },
  }, async (request) => ({ apiKeys: await listApiKeys(fivetier, await existingTenant((request.params as { tenantId: string }).tenantId)) }));

  app.delete('/v1/tenants/:tenantId/api-keys/:keyId', {
    config: { isolation: { kind: 'operator' } },
    schema: {
      tags: ['api keys'], summary: 'Revoke an API key', security: operatorKey,
      params: { type: 'object', required: ['tenantId', 'keyId'], properties: { tenantId: { type: 'string', maxLength: 200 }, keyId: { type: 'string', maxLength: 200 } } },
    },
  }, async (request) => {
    const { tenantId, keyId } = request.params as { tenantId: string; keyId: string };
    const revoked = await revokeApiKey(fivetier, await existingTenant(tenantId), keyId);
    if (!revoked) throw notFound('live API key', keyId);
    verifier.forget(revoked.id);
    return revoked;
  });
};
