/** Templates: create (Liquid checked), list, read. */
import type { FastifyPluginAsync } from 'fastify';
import { createTemplate } from '../../campaigns/campaigns.js';
import { getTemplate, listTemplates } from '../../campaigns/resource-reads.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, pageQuery, tenantKey } from '../schemas.js';
import type { ApiContext } from './context.js';

export const templateRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/templates', {
    config: { isolation: { kind: 'tenant' } },
    schema: {
      tags: ['templates'], summary: 'Create a template (Liquid in subject and content)', security: tenantKey,
      body: {
        type: 'object', required: ['name', 'subject', 'content'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, subject: { type: 'string', maxLength: 255 }, content: { type: 'string', maxLength: 1_000_000 } },
      },
    },
  }, async (request, reply) => {
    // why: only the named fields; a body's tenant_id or tenantId must never reach the library
    const { name, subject, content } = request.body as { name: string; subject: string; content: string };
    return reply.code(201).send(await createTemplate(fivetier, tenantOf(request), { name, subject, content }));
  });

  app.get('/v1/templates', {
    config: { isolation: { kind: 'listing', resource: 'template' } },
    schema: { tags: ['templates'], summary: 'List templates', security: tenantKey, querystring: pageQuery },
  }, async (request) => ({ templates: await listTemplates(fivetier, tenantOf(request), request.query as { after?: string; limit?: number }) }));

  app.get('/v1/templates/:id', {
    config: { isolation: { kind: 'object', resource: 'template' } },
    schema: { tags: ['templates'], summary: 'Read a template', security: tenantKey, params: idParams },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const template = await getTemplate(fivetier, tenantOf(request), id);
    if (!template) throw notFound('template', id);
    return template;
  });
};
