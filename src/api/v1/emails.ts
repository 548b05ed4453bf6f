/**
 * Emails: send one (the cross-tier path: OLTP row, content, queue job; `Idempotency-Key` makes a
 * retried request send once), list, and read one with its content. Content is reached through
 * the email's id only; storage keys never leave the platform.
 */
import type { FastifyPluginAsync } from 'fastify';
import { getEmail, listEmails } from '../../email/emails.js';
import { sendEmailOnce } from '../../email/send-once.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, pageQuery, tenantKey, uuid } from '../schemas.js';
import type { ApiContext } from './context.js';

/** The largest body of a single send, in characters. */
const SEND_BODY_MAX = 1_000_000;

export const emailRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.post('/v1/emails', {
    config: { isolation: { kind: 'tenant' } },
    bodyLimit: 2 * SEND_BODY_MAX,
    schema: {
      tags: ['emails'], summary: 'Send one email. With an Idempotency-Key header a retried request sends once (the repeat answers 200 with the same id)', security: tenantKey,
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
      body: {
        type: 'object', required: ['to', 'body'],
        properties: { to: { type: 'string', format: 'email', maxLength: 254 }, subject: { type: 'string', maxLength: 998 }, body: { type: 'string', maxLength: SEND_BODY_MAX } },
      },
    },
  }, async (request, reply) => {
    const b = request.body as { to: string; subject?: string; body: string };
    const key = request.headers['idempotency-key'] as string | undefined;
    const sent = await sendEmailOnce(fivetier, { tenantId: tenantOf(request), recipient: b.to, subject: b.subject, body: b.body }, key);
    if (sent.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(sent.replayed ? 200 : 201).send({ id: sent.emailId, replayed: sent.replayed });
  });

  app.get('/v1/emails', {
    config: { isolation: { kind: 'listing', resource: 'email' } },
    schema: {
      tags: ['emails'], summary: 'List emails (metadata), optionally of one campaign', security: tenantKey,
      querystring: { ...pageQuery, properties: { ...pageQuery.properties, campaignId: uuid } },
    },
  }, async (request) => ({ emails: await listEmails(fivetier, tenantOf(request), request.query as { after?: string; limit?: number; campaignId?: string }) }));

  app.get('/v1/emails/:id', {
    config: { isolation: { kind: 'object', resource: 'email' } },
    schema: { tags: ['emails'], summary: 'Read an email with its content', security: tenantKey, params: idParams },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const email = await getEmail(fivetier, tenantOf(request), id);
    if (!email) throw notFound('email', id);
    return email;
  });
};
