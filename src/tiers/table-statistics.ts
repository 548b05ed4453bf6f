/**
 * The one statement every tier answers alike: analyze the tables whose statistics went stale
 * (each tier's migration "fresh table statistics" defines `fivetier_analyze_stale`).
 */
import type { TxClient } from './tier-transaction.js';

/** A table just analyzed, and how many of its rows had changed since its previous analysis. */
export interface AnalyzedTable {
  table_name: string;
  changed: number;
}

/**
 * ANALYZE the tier's tables that changed by `fraction` of their rows, and at least `minChanges`
 * rows, since their last analysis. Run as fivetier_maintenance. Throws what `pg` throws.
 */
export async function tablesAnalyzeStale(c: TxClient, minChanges: number, fraction: number): Promise<AnalyzedTable[]> {
  const { rows } = await c.query<AnalyzedTable>({
    name: 'tablesAnalyzeStale',
    text: 'SELECT table_name, changed::int AS changed FROM public.fivetier_analyze_stale($1::bigint, $2::double precision)',
    values: [minChanges, fraction],
  });
  return rows;
}
