import type { TxClient } from '../../tier-client.js';

/** Insert a tenant in a transaction whose tenant is that same id (the tenants policy: id = tenant). */
export async function tenantInsert(c: TxClient, row: { id: string; name: string }): Promise<{ id: string; name: string; created_at: Date }> {
  const { rows } = await c.query<{ id: string; name: string; created_at: Date }>({
    name: 'tenantInsert',
    text: `insert into public.tenants (id, name) values ($1, $2) returning id, name, created_at`,
    values: [row.id, row.name],
  });
  return rows[0]!;
}

/** What fivetier reads of the plan a tenant subscribes to (the newest active subscription's). */
export interface TenantPlan {
  slug: string;
  /** null: no monthly quota. */
  max_emails_per_month: number | null;
  /** null: the plan's default rate by slug, if any. */
  send_rate_per_second: number | null;
}

/** The tenant's active plan (RLS: the caller's tenant); undefined without an active subscription. Throws on SQL errors. */
export async function tenantActivePlan(c: Pick<TxClient, 'query'>): Promise<TenantPlan | undefined> {
  const { rows } = await c.query<TenantPlan>({
    name: 'tenantActivePlan',
    text: `select p.slug, p.max_emails_per_month, p.send_rate_per_second from public.subscriptions s join public.plans p on p.id = s.plan_id
            where s.status = 'active' order by s.created_at desc limit 1`,
  });
  return rows[0];
}
