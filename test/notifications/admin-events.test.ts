import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import { listOpenAdminEvents, resolveAdminEvent } from '../../src/notifications/admin-events.js';
import type { Fivetier } from '../../src/platform.js';
import { recordAdminEvent } from '../../src/tiers/notifications/admin-events.js';
import { SYSTEM_TENANT_ID } from '../../src/types.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

describe('admin system events: open and resolve', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => {
    await ft?.close();
  });

  const record = async (description: string, tenantId?: string) => {
    const id = await recordAdminEvent(ft, { eventType: 'test_incident', severity: 'high', description, details: { n: 1 }, tenantId }, () => {});
    expect(id).toBeDefined();
    return id!;
  };

  it('resolves an open event once, with who and a note, and it leaves the open list', async () => {
    const id = await record(`incident ${randomUUID()}`);
    const operator = randomUUID();
    expect((await listOpenAdminEvents(ft, { limit: 500 })).map((e) => e.id)).toContain(id);

    const resolved = await resolveAdminEvent(ft, id, { resolvedBy: operator, note: 'failed over to the replica' });
    expect(resolved).toMatchObject({ id, tenant_id: SYSTEM_TENANT_ID, is_resolved: true, resolved_by: operator, resolution_note: 'failed over to the replica', event_type: 'test_incident', details: { n: 1 } });
    expect(resolved.resolved_at).toBeInstanceOf(Date);
    expect((await listOpenAdminEvents(ft, { limit: 500 })).map((e) => e.id)).not.toContain(id);

    const again = await resolveAdminEvent(ft, id, { resolvedBy: randomUUID() }).catch((e: unknown) => e);
    expect(isFivetierError(again, 'FT_ERR_ADMIN_EVENT_RESOLVED')).toBe(true);
    expect(String((again as Error).message)).toContain(operator);
    // The first resolution stands.
    const [row] = (await ft.notifications.withMaintenance((c) => c.query('select resolved_by, resolution_note from public.admin_system_events where id = $1', [id]))).rows;
    expect(row).toEqual({ resolved_by: operator, resolution_note: 'failed over to the replica' });
  });

  it('of two operators resolving at once, exactly one wins', async () => {
    const id = await record('raced');
    const outcomes = await Promise.allSettled([resolveAdminEvent(ft, id, { resolvedBy: randomUUID() }), resolveAdminEvent(ft, id, { resolvedBy: randomUUID() })]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(isFivetierError(lost.reason, 'FT_ERR_ADMIN_EVENT_RESOLVED')).toBe(true);
  });

  it("a tenant's events are listed and resolved under that tenant only", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const id = await record('tenant A quota reached', a);
    expect((await listOpenAdminEvents(ft, { tenantId: a })).map((e) => e.id)).toEqual([id]);
    expect(await listOpenAdminEvents(ft, { tenantId: b })).toEqual([]);
    expect((await listOpenAdminEvents(ft, { limit: 500 })).map((e) => e.id)).not.toContain(id);

    for (const tenantId of [b, undefined]) {
      const err = await resolveAdminEvent(ft, id, { resolvedBy: randomUUID(), tenantId }).catch((e: unknown) => e);
      expect(isFivetierError(err, 'FT_ERR_ADMIN_EVENT_NOT_FOUND')).toBe(true);
    }
    expect((await listOpenAdminEvents(ft, { tenantId: a })).map((e) => e.id)).toEqual([id]);
    expect((await resolveAdminEvent(ft, id, { resolvedBy: randomUUID(), tenantId: a })).is_resolved).toBe(true);
    expect(await listOpenAdminEvents(ft, { tenantId: a })).toEqual([]);
  });

  it('pages open events newest first with before', async () => {
    const tenant = newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await record(`event ${i}`, tenant));
    await ft.notifications.withMaintenance((c) =>
      c.query("update public.admin_system_events set created_at = now() - make_interval(mins => array_position($1::uuid[], id)) where tenant_id = $2", [ids, tenant]),
    );
    const first = await listOpenAdminEvents(ft, { tenantId: tenant, limit: 2 });
    expect(first.map((e) => e.id)).toEqual([ids[0], ids[1]]);
    const second = await listOpenAdminEvents(ft, { tenantId: tenant, limit: 2, before: first.at(-1)!.created_at });
    expect(second.map((e) => e.id)).toEqual([ids[2]]);
  });

  it('bad input is FT_ERR_INPUT_INVALID or FT_ERR_TENANT_INVALID', async () => {
    const id = await record('input');
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ['event id', () => resolveAdminEvent(ft, 'event-1', { resolvedBy: randomUUID() }), 'FT_ERR_INPUT_INVALID'],
      ['resolver', () => resolveAdminEvent(ft, id, { resolvedBy: 'ops' }), 'FT_ERR_INPUT_INVALID'],
      ['note', () => resolveAdminEvent(ft, id, { resolvedBy: randomUUID(), note: 'x'.repeat(2001) }), 'FT_ERR_INPUT_INVALID'],
      ['tenant', () => resolveAdminEvent(ft, id, { resolvedBy: randomUUID(), tenantId: 'acme' }), 'FT_ERR_TENANT_INVALID'],
      ['limit', () => listOpenAdminEvents(ft, { limit: 501 }), 'FT_ERR_INPUT_INVALID'],
    ];
    for (const [what, call, code] of cases) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(isFivetierError(err, code as never), `${what}: ${String(err)}`).toBe(true);
    }
    expect((await listOpenAdminEvents(ft, { limit: 500 })).map((e) => e.id)).toContain(id);
  });
});
