/**
 * Fresh planner statistics between autovacuum's rounds: every few seconds the leader asks each
 * tier to analyze the tables that changed by a tenth since their last analysis. Autovacuum does
 * the same at most once a minute; meanwhile a table that grew from nothing (a fresh install's
 * first campaign) is planned as if it were still nearly empty, and statements that read a few rows
 * by id read the whole tenant instead.
 */
import type { Fivetier } from '../platform.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { tablesAnalyzeStale } from '../tiers/table-statistics.js';
import { TIER_NAMES, type TierName } from '../types.js';

/** How often the leader looks for stale statistics, in ms. */
export const STATISTICS_INTERVAL_MS_DEFAULT = 5_000;
/** A table is analyzed once this share of its rows changed since its last analysis... */
const STALE_FRACTION = 0.1;
/** ...and at least this many rows (small tables are planned well enough without). */
const STALE_MIN_CHANGES = 1_000;

/** What one pass did: the tables analyzed, and the tiers that failed (down, not migrated yet) with why. */
export interface StatisticsPass {
  analyzed: string[];
  failed: Map<TierName, string>;
}

/** One pass over the tiers; a tier that fails is skipped. Throws nothing. */
export async function refreshStaleStatistics(ft: Fivetier): Promise<StatisticsPass> {
  const pass: StatisticsPass = { analyzed: [], failed: new Map() };
  for (const tier of TIER_NAMES) {
    try {
      const tables = await ft[tier].withMaintenance((c) => tablesAnalyzeStale(c, STALE_MIN_CHANGES, STALE_FRACTION));
      for (const t of tables) pass.analyzed.push(`${tier}.${t.table_name} (${t.changed} rows changed)`);
    } catch (err) {
      pass.failed.set(tier, (err as Error).message);
    }
  }
  return pass;
}

/** Start the loop (in the leading instance only, when `isLeader` is given). Never throws. */
export function startStatisticsUpkeep(ft: Fivetier, options: { log: (line: string) => void; intervalMs?: number; isLeader?: () => boolean }): BackgroundLoop {
  // why: a tier that is down fails every pass; say so once, and again once it works
  let failing = new Set<TierName>();
  // why: not scheduledLoop, which logs and records every run: a pass every 5 s would drown the
  // log and the maintenance record, and most passes analyze nothing
  const loop = new BackgroundLoop(
    'table statistics',
    async () => {
      if (!(options.isLeader?.() ?? true)) return 'idle';
      const pass = await refreshStaleStatistics(ft);
      if (pass.analyzed.length > 0) options.log(`table statistics: analyzed ${pass.analyzed.join(', ')}`);
      for (const [tier, why] of pass.failed) if (!failing.has(tier)) options.log(`table statistics: skipping ${tier} until it answers: ${why}`);
      for (const tier of failing) if (!pass.failed.has(tier)) options.log(`table statistics: ${tier} answers again`);
      failing = new Set(pass.failed.keys());
      return 'idle';
    },
    { idleMs: options.intervalMs ?? STATISTICS_INTERVAL_MS_DEFAULT, onError: (err) => options.log(`table statistics: failed: ${(err as Error).message}`) },
  );
  loop.start();
  return loop;
}
