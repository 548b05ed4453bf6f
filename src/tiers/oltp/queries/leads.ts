import type { TxClient } from '../../tier-client.js';

/** Insert or update leads by address (unique per tenant); returns their ids in input order. */
export async function leadsUpsert(c: TxClient, tenantId: string, leads: ReadonlyArray<{ email: string; name: string | null; company: string | null }>): Promise<string[]> {
  const { rows } = await c.query<{ id: string; ord: number }>({
    name: 'leadsUpsert',
    text: `with input as (
             select * from unnest($2::text[], $3::text[], $4::text[]) with ordinality as x(email, name, company, ord)
           ), up as (
             insert into public.leads (tenant_id, email, name, company)
             select $1, email, name, company from input
             on conflict (tenant_id, email) do update set name = excluded.name, company = excluded.company, updated_at = now()
             returning id, email
           )
           select up.id, input.ord::int as ord from up join input on input.email = up.email order by input.ord`,
    values: [tenantId, leads.map((l) => l.email), leads.map((l) => l.name), leads.map((l) => l.company)],
  });
  return rows.map((r) => r.id);
}
