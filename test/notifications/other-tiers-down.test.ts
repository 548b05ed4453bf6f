import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { resolveAdminEvent } from '../../src/notifications/admin-events.js';
import { createNotification, listNotifications, markRead, unreadNotifications } from '../../src/notifications/in-app.js';
import { notifyQuotaThreshold } from '../../src/notifications/producers.js';
import { recordAdminEvent } from '../../src/tiers/notifications/admin-events.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { freePort } from '../helpers/processes.js';

/**
 * DESIGN.md section 7: with OLTP down, notifications reads keep working; with OLAP down,
 * everything operational does. The notifications calls touch no other tier, so they all work
 * while OLTP and OLAP refuse connections.
 */
describe('notifications with OLTP and OLAP down', () => {
  it('creates, lists, reads, marks read, notifies a quota and resolves an admin event', async () => {
    const deadUrl = async (tier: 'oltp' | 'olap') => {
      const url = new URL(inject('tierUrls')[tier]);
      url.port = String(await freePort()); // nothing listens there: connections are refused
      return url.toString();
    };
    const ft = await openTestFivetier({
      tiers: {
        oltp: { url: await deadUrl('oltp'), pool: { connectionTimeoutMillis: 1000 } },
        olap: { url: await deadUrl('olap'), pool: { connectionTimeoutMillis: 1000 } },
      },
    });
    try {
      expect((await ft.oltp.health()).status).toBe('down');
      const tenant = newTenant();
      const user = randomUUID();
      const { notification } = await createNotification(ft, tenant, { userId: user, type: 'TEST_NOTE', title: 't', message: 'm' });
      expect((await notifyQuotaThreshold(ft, tenant, { userIds: [user], month: new Date().toISOString().slice(0, 7), used: 9, quota: 10 })).created).toBe(1);
      expect((await unreadNotifications(ft, tenant, user)).map((n) => n.type)).toEqual(['QUOTA_WARNING', 'TEST_NOTE']);
      expect(await markRead(ft, tenant, user, notification.id)).toEqual([notification.id]);
      expect((await listNotifications(ft, tenant, user)).notifications).toHaveLength(2);
      const eventId = await recordAdminEvent(ft, { eventType: 'tier_down', severity: 'critical', description: 'OLTP refuses connections', tenantId: tenant }, () => {});
      expect((await resolveAdminEvent(ft, eventId!, { resolvedBy: user, tenantId: tenant })).is_resolved).toBe(true);
    } finally {
      await ft.close();
    }
  });
});
