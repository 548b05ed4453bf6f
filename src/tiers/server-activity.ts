/**
 * What a tier's server says about fivetier's connections to it (pg_stat_activity), whoever
 * opened them: the service, workers, this CLI. Read on an admin connection, which sees every
 * session's state. Throws what `pg` throws.
 */
import type pg from 'pg';

/** Connections to the current database per fivetier login role (`fivetier:<tier>:<role>`), and how many run a statement now. */
export async function connectionsByRole(client: pg.Client, tier: string): Promise<Array<{ role: string; connections: number; active: number }>> {
  const { rows } = await client.query<{ role: string; connections: number; active: number }>({
    text: `select split_part(application_name, ':', 3) as role, count(*)::int as connections,
                  count(*) filter (where state = 'active' and pid <> pg_backend_pid())::int as active
             from pg_stat_activity
            where datname = current_database() and application_name like $1
            group by 1 order by 1`,
    values: [`fivetier:${tier}:%`],
  });
  return rows;
}
