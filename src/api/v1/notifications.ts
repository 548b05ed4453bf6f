/**
 * In-app notifications of the tenant's users: list, unread (with the count), mark read, hide.
 * Notifications belong to a user of the tenant, named by `userId`; the tenant comes from the key.
 */
import type { FastifyPluginAsync } from 'fastify';
import { countUnreadNotifications, hideNotification, listNotifications, markRead, unreadNotifications } from '../../notifications/in-app.js';
import { hasNotification } from '../../notifications/notification-reads.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, tenantKey, uuid } from '../schemas.js';
import type { ApiContext } from './context.js';

const userQuery = { type: 'object', required: ['userId'], properties: { userId: uuid, limit: { type: 'integer', minimum: 1, maximum: 500 } } } as const;

export const notificationRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  app.get('/v1/notifications', {
    config: { isolation: { kind: 'listing', resource: 'notification', query: { userId: '{userId}' } } },
    schema: {
      tags: ['notifications'], summary: "A user's notifications, newest first (before: the previous page's nextCursor)", security: tenantKey,
      querystring: { ...userQuery, properties: { ...userQuery.properties, before: { type: 'string', maxLength: 100 } } },
    },
  }, async (request) => {
    const q = request.query as { userId: string; limit?: number; before?: string };
    return listNotifications(fivetier, tenantOf(request), q.userId, { limit: q.limit, before: q.before });
  });

  app.get('/v1/notifications/unread', {
    config: { isolation: { kind: 'listing', resource: 'notification', query: { userId: '{userId}' } } },
    schema: { tags: ['notifications'], summary: "A user's unread notifications and their count", security: tenantKey, querystring: userQuery },
  }, async (request) => {
    const q = request.query as { userId: string; limit?: number };
    const tenantId = tenantOf(request);
    const [notifications, count] = await Promise.all([unreadNotifications(fivetier, tenantId, q.userId, { limit: q.limit }), countUnreadNotifications(fivetier, tenantId, q.userId)]);
    return { count, notifications };
  });

  for (const [action, change] of [['read', markRead], ['hide', hideNotification]] as const) {
    app.post(`/v1/notifications/:id/${action}`, {
      config: { isolation: { kind: 'object', resource: 'notification', body: { userId: '{userId}' } } },
      schema: {
        tags: ['notifications'], summary: action === 'read' ? 'Mark a notification read' : 'Hide a notification (it is also marked read)', security: tenantKey,
        params: idParams, body: { type: 'object', required: ['userId'], properties: { userId: uuid } },
      },
    }, async (request) => {
      const { id } = request.params as { id: string };
      const { userId } = request.body as { userId: string };
      const tenantId = tenantOf(request);
      if (!(await hasNotification(fivetier, tenantId, userId, id))) throw notFound('notification', id);
      const changed = await change(fivetier, tenantId, userId, id);
      return { id, changed: changed.length > 0 };
    });
  }
};
