import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import { expireNotifications } from '../../src/notifications/expiry.js';
import {
  countUnreadNotifications,
  createNotification,
  hideNotification,
  listNotifications,
  markRead,
  unreadNotifications,
  type NewNotification,
} from '../../src/notifications/in-app.js';
import type { Fivetier } from '../../src/platform.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

const note = (userId: string, extra: Partial<NewNotification> = {}): NewNotification => ({
  userId,
  type: 'TEST_NOTE',
  title: 'A test note',
  message: 'Something happened',
  ...extra,
});

/** A row as the maintenance role sees it (every tenant), to check what a call left. */
async function rowOf(ft: Fivetier, id: string) {
  const { rows } = await ft.notifications.withMaintenance((c) => c.query('select * from public.notifications where id = $1', [id]));
  return rows[0];
}

describe('in-app notifications', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => {
    await ft?.close();
  });

  it('creates with defaults and the given fields, and a dedup key gives one row per user', async () => {
    const tenant = newTenant();
    const [u1, u2] = [randomUUID(), randomUUID()];
    const expiresAt = new Date(Date.now() + 3_600_000);
    const first = await createNotification(ft, tenant, note(u1, { priority: 'high', channel: 'email', data: { campaignId: 'c1', n: 3 }, expiresAt, dedupKey: 'k1' }));
    expect(first.created).toBe(true);
    expect(first.notification).toMatchObject({ tenant_id: tenant, user_id: u1, channel: 'email', priority: 'high', data: { campaignId: 'c1', n: 3 }, is_read: false, dedup_key: 'k1' });
    expect(first.notification.expires_at?.getTime()).toBe(expiresAt.getTime());

    const again = await createNotification(ft, tenant, note(u1, { title: 'changed', dedupKey: 'k1' }));
    expect(again).toEqual({ notification: first.notification, created: false });
    // The same key for another user, or in another tenant, is another notification.
    expect((await createNotification(ft, tenant, note(u2, { dedupKey: 'k1' }))).created).toBe(true);
    expect((await createNotification(ft, newTenant(), note(u1, { dedupKey: 'k1' }))).created).toBe(true);
    // Without a key, every call creates.
    const plain = await Promise.all([createNotification(ft, tenant, note(u1)), createNotification(ft, tenant, note(u1))]);
    expect(plain.map((p) => p.created)).toEqual([true, true]);
    const defaults = plain[0]!.notification;
    expect([defaults.channel, defaults.priority, defaults.data, defaults.expires_at, defaults.dedup_key]).toEqual(['in_app', 'normal', null, null, null]);

    const concurrent = await Promise.all(Array.from({ length: 10 }, () => createNotification(ft, tenant, note(u2, { dedupKey: 'k2' }))));
    expect(concurrent.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(concurrent.map((r) => r.notification.id)).size).toBe(1);
  });

  it('lists newest first in keyset pages that neither skip nor repeat, leaving out hidden and expired rows', async () => {
    const tenant = newTenant();
    const user = randomUUID();
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await createNotification(ft, tenant, note(user, { title: `n${i}` }))).notification.id);
    // Two rows with the same created_at: the id breaks the tie, and paging still sees both.
    await ft.notifications.withMaintenance((c) => c.query('update public.notifications set created_at = (select created_at from public.notifications where id = $1) where id = $2', [made[3], made[4]]));
    const hidden = (await createNotification(ft, tenant, note(user, { title: 'hidden' }))).notification.id;
    await hideNotification(ft, tenant, user, hidden);
    const expired = (await createNotification(ft, tenant, note(user, { title: 'expired', expiresAt: new Date(Date.now() - 1000) }))).notification.id;
    await createNotification(ft, tenant, note(randomUUID(), { title: 'someone else' }));

    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page = await listNotifications(ft, tenant, user, { limit: 3, before });
      seen.push(...page.notifications.map((n) => n.id));
      before = page.nextCursor;
      pages += 1;
    } while (before !== null && pages < 10);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(made));
    expect(seen).not.toContain(hidden);
    expect(seen).not.toContain(expired);
    const all = (await listNotifications(ft, tenant, user, { limit: 50 })).notifications;
    // created_at is kept to the microsecond and a JS Date holds milliseconds: compare the cursor's
    // microsecond timestamp, or two rows made in the same millisecond look tied when they are not.
    const order = all.map((n) => [n.cursor.split('/')[0]!, n.id] as const);
    const newestFirst = (a: readonly [string, string], b: readonly [string, string]) =>
      a[0] !== b[0] ? (a[0] < b[0] ? 1 : -1) : a[1] < b[1] ? 1 : -1;
    expect(order).toEqual([...order].sort(newestFirst));
  });

  it('marks read and hides only what the user has; hiding marks read; the unread count follows', async () => {
    const tenant = newTenant();
    const [user, other] = [randomUUID(), randomUUID()];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createNotification(ft, tenant, note(user))).notification.id);
    const othersId = (await createNotification(ft, tenant, note(other))).notification.id;
    expect(await countUnreadNotifications(ft, tenant, user)).toBe(4);

    expect(await markRead(ft, tenant, user, [ids[0]!, ids[1]!, othersId, randomUUID()])).toEqual(expect.arrayContaining([ids[0], ids[1]]));
    expect(await markRead(ft, tenant, user, [ids[0]!, ids[1]!])).toEqual([]); // read already
    expect((await rowOf(ft, othersId)).is_read).toBe(false);
    const readRow = await rowOf(ft, ids[0]!);
    expect(readRow.read_at).toBeInstanceOf(Date);

    expect(await hideNotification(ft, tenant, user, [ids[0]!, ids[2]!])).toEqual(expect.arrayContaining([ids[0], ids[2]]));
    expect(await hideNotification(ft, tenant, user, ids[2]!)).toEqual([]); // hidden already
    const hiddenUnread = await rowOf(ft, ids[2]!);
    expect([hiddenUnread.is_read, hiddenUnread.deleted_at instanceof Date, hiddenUnread.read_at instanceof Date]).toEqual([true, true, true]);
    // A row read before keeps when it was read.
    expect((await rowOf(ft, ids[0]!)).read_at.getTime()).toBe(readRow.read_at.getTime());

    expect((await unreadNotifications(ft, tenant, user)).map((n) => n.id)).toEqual([ids[3]]);
    expect(await countUnreadNotifications(ft, tenant, user)).toBe(1);
    expect((await listNotifications(ft, tenant, user)).notifications.map((n) => n.id).sort()).toEqual([ids[1], ids[3]].sort());
    expect(await markRead(ft, tenant, user, [])).toEqual([]);
  });

  it("another tenant never sees or changes a tenant's notifications, even given their ids and user", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const user = randomUUID(); // users are global identities: the same user may belong to both
    const mine = (await createNotification(ft, a, note(user, { dedupKey: 'shared-key', expiresAt: new Date(Date.now() - 1000) }))).notification.id;
    const visible = (await createNotification(ft, a, note(user))).notification.id;

    expect((await listNotifications(ft, b, user)).notifications).toEqual([]);
    expect(await unreadNotifications(ft, b, user)).toEqual([]);
    expect(await countUnreadNotifications(ft, b, user)).toBe(0);
    expect(await markRead(ft, b, user, [mine, visible])).toEqual([]);
    expect(await hideNotification(ft, b, user, [mine, visible])).toEqual([]);
    const dry = await expireNotifications(ft, { tenantId: b, dryRun: true });
    const real = await expireNotifications(ft, { tenantId: b });
    expect([dry.count, real.count]).toEqual([0, 0]);
    // B's dedup key space is its own: B creates under A's key.
    expect((await createNotification(ft, b, note(user, { dedupKey: 'shared-key' }))).created).toBe(true);

    for (const id of [mine, visible]) expect(await rowOf(ft, id)).toMatchObject({ tenant_id: a, is_read: false, deleted_at: null });
    expect((await unreadNotifications(ft, a, user)).map((n) => n.id)).toEqual([visible]);
  });

  it('expiry deletes or hides past expires_at in batches, and its dry run reports the same count', async () => {
    const [tenant, bystander] = [newTenant(), newTenant()];
    const user = randomUUID();
    const past = new Date(Date.now() - 60_000);
    const insertRows = (t: string, n: number, expiresAt: Date | null, hidden = false) =>
      ft.notifications.withMaintenance((c) =>
        c.query(
          `insert into public.notifications (tenant_id, user_id, type, title, message, expires_at, deleted_at)
           select $1, $2, 'TEST_NOTE', 't', 'm', $3, $4 from generate_series(1, $5::int)`,
          [t, user, expiresAt, hidden ? new Date() : null, n],
        ),
      );
    await insertRows(tenant, 25, past);
    await insertRows(tenant, 5, past, true); // hidden already: deleted, but not hidden again
    await insertRows(tenant, 4, new Date(Date.now() + 3_600_000));
    await insertRows(tenant, 3, null);
    await insertRows(bystander, 6, past);
    const countOf = async (t: string) => Number((await ft.notifications.withMaintenance((c) => c.query('select count(*) from public.notifications where tenant_id = $1', [t]))).rows[0].count);

    const asOf = new Date();
    const hideDry = await expireNotifications(ft, { tenantId: tenant, mode: 'hide', dryRun: true, asOf });
    const hide = await expireNotifications(ft, { tenantId: tenant, mode: 'hide', batchSize: 10, asOf });
    expect([hideDry.count, hide.count, hide.batches]).toEqual([25, 25, 3]);
    expect(await countOf(tenant)).toBe(37);
    expect(await listNotifications(ft, tenant, user, { limit: 100 }).then((p) => p.notifications.length)).toBe(7);
    expect(await countUnreadNotifications(ft, tenant, user)).toBe(7);
    expect((await expireNotifications(ft, { tenantId: tenant, mode: 'hide', asOf })).count).toBe(0);

    const deleteDry = await expireNotifications(ft, { tenantId: tenant, dryRun: true, asOf });
    const del = await expireNotifications(ft, { tenantId: tenant, batchSize: 7, asOf });
    expect([deleteDry.count, del.count, del.batches]).toEqual([30, 30, 5]);
    expect(await countOf(tenant)).toBe(7);
    expect(await countOf(bystander)).toBe(6);
    expect((await expireNotifications(ft, { tenantId: tenant, asOf })).count).toBe(0);
  });

  it('bad input is FT_ERR_INPUT_INVALID or FT_ERR_TENANT_INVALID, before anything is written', async () => {
    const tenant = newTenant();
    const user = randomUUID();
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['user id', () => createNotification(ft, tenant, note('nope'))],
      ['channel', () => createNotification(ft, tenant, note(user, { channel: 'sms' as never }))],
      ['priority', () => createNotification(ft, tenant, note(user, { priority: 'asap' as never }))],
      ['empty title', () => createNotification(ft, tenant, note(user, { title: '  ' }))],
      ['long type', () => createNotification(ft, tenant, note(user, { type: 'x'.repeat(101) }))],
      ['big data', () => createNotification(ft, tenant, note(user, { data: { blob: 'x'.repeat(9000) } }))],
      ['array data', () => createNotification(ft, tenant, note(user, { data: [1, 2] as never }))],
      ['bad date', () => createNotification(ft, tenant, note(user, { expiresAt: new Date('nope') }))],
      ['empty dedup key', () => createNotification(ft, tenant, note(user, { dedupKey: '' }))],
      ['limit', () => listNotifications(ft, tenant, user, { limit: 0 })],
      ['cursor', () => listNotifications(ft, tenant, user, { before: 'page-2' })],
      ['ids', () => markRead(ft, tenant, user, ['1; drop table notifications'])],
      ['too many ids', () => hideNotification(ft, tenant, user, Array.from({ length: 1001 }, () => randomUUID()))],
      ['expiry mode', () => expireNotifications(ft, { mode: 'archive' as never })],
      ['expiry batch', () => expireNotifications(ft, { batchSize: 0 })],
    ];
    for (const [what, call] of cases) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(isFivetierError(err, 'FT_ERR_INPUT_INVALID'), `${what}: ${String(err)}`).toBe(true);
    }
    const badTenant = await createNotification(ft, 'tenant-1', note(user)).catch((e: unknown) => e);
    expect(isFivetierError(badTenant, 'FT_ERR_TENANT_INVALID')).toBe(true);
    expect(await countUnreadNotifications(ft, tenant, user)).toBe(0);
  });
});
