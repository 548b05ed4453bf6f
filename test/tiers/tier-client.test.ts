import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { freePort } from '../helpers/processes.js';

describe('TierClient', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    // One connection, so every transaction below reuses the same pooled session.
    ft = await openTestFivetier({ tiers: { notifications: { pool: { max: 1 } } } });
  });
  afterAll(() => ft?.close());

  it('refuses a tenant id that is not a uuid, before touching the database', async () => {
    const err = await ft.notifications.withTenant("x' or 1=1 --", async () => 1).catch((e: unknown) => e);
    expect(isFivetierError(err, 'FT_ERR_TENANT_INVALID')).toBe(true);
  });

  it('sets the tenant for the transaction only: the pooled session carries nothing over', async () => {
    const tenant = newTenant();
    const inside = await ft.notifications.withTenant(tenant, async (tx) => (await tx.query("select current_setting('app.current_tenant_id', true) as t")).rows[0].t);
    expect(inside).toBe(tenant);
    const after = await ft.notifications.pool.query("select coalesce(current_setting('app.current_tenant_id', true), '') as t");
    expect(after.rows[0].t).toBe('');
  });

  it('commits on success and rolls back when the callback throws', async () => {
    const tenant = newTenant();
    const insert = (title: string) => (tx: import('pg').PoolClient) =>
      tx.query("insert into notifications (tenant_id, type, title, message) values ($1, 'TEST', $2, 'm')", [tenant, title]);
    await ft.notifications.withTenant(tenant, insert('kept'));
    await expect(
      ft.notifications.withTenant(tenant, async (tx) => {
        await insert('rolled back')(tx);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await ft.notifications.withTenant(tenant, (tx) => tx.query('select title from notifications order by title'));
    expect(rows.map((r) => r.title)).toEqual(['kept']);
  });

  it('runs as the runtime role, which cannot read another tier-internal table such as fivetier_migrations', async () => {
    const err = await ft.notifications.withTenant(newTenant(), (tx) => tx.query('select * from fivetier_migrations')).catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('42501');
  });

  it("says which tier is unavailable and why, never where it is or who logs in", async () => {
    const port = await freePort();
    const down = await openTestFivetier({ tiers: { content: { url: `postgresql://admin:S3cr3t@127.0.0.1:${port}/penguinmails_content` } } });
    try {
      const err = await down.content.withTenant(newTenant(), async () => 1).catch((e: unknown) => e);
      expect(isFivetierError(err, 'FT_ERR_TIER_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toBe('the content tier is unavailable: connection refused');
      expect((err as Error).message).not.toContain(String(port));
    } finally {
      await down.close();
    }
  });

  it('refuses a COMMIT that the database turned into a ROLLBACK', async () => {
    const err = await ft.notifications
      .withTenant(newTenant(), async (tx) => {
        await tx.query('select 1/0').catch(() => {}); // caught: the transaction is now aborted
      })
      .catch((e: unknown) => e);
    expect(isFivetierError(err, 'FT_ERR_TX_ABORTED')).toBe(true);
    // The connection went back clean and usable.
    expect((await ft.notifications.pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });
});
