import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMAS_DIR } from '../../src/migrate/migration-files.js';
import { migrateTier } from '../../src/migrate/migrator.js';
import { renderSchemaFile } from '../../src/migrate/schema-file.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { catalogSnapshot } from '../helpers/catalog.js';
import { scratchDatabases } from '../helpers/platform.js';

const hasPsql = spawnSync('psql', ['--version']).status === 0;

/** Run schema.sql the way the seed shows it; without a psql binary, send the same text over pg. */
async function applySchemaFile(url: string, tier: TierName): Promise<void> {
  const file = `${SCHEMAS_DIR}/${tier}/schema.sql`;
  if (hasPsql) {
    execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(readFileSync(file, 'utf8').replace(/^\\set .*$/m, ''));
  } finally {
    await client.end();
  }
}

describe('schemas/<tier>/schema.sql', () => {
  let byFile: Awaited<ReturnType<typeof scratchDatabases>>;
  let byMigrator: Awaited<ReturnType<typeof scratchDatabases>>;

  beforeAll(async () => {
    byFile = await scratchDatabases(TIER_NAMES, 'file');
    byMigrator = await scratchDatabases(TIER_NAMES, 'migr');
  });
  afterAll(async () => {
    await byFile?.drop();
    await byMigrator?.drop();
  });

  it.each(TIER_NAMES)('%s: is up to date with the migrations (npm run schemas)', (tier) => {
    expect(readFileSync(`${SCHEMAS_DIR}/${tier}/schema.sql`, 'utf8')).toBe(renderSchemaFile(tier));
  });

  it.each(TIER_NAMES)('%s: psql -f on an empty database builds the same catalog as the migrator', async (tier) => {
    await applySchemaFile(byFile.urls[tier], tier);
    await migrateTier(tier, byMigrator.urls[tier]);
    const [fromFile, fromMigrator] = await Promise.all([catalogSnapshot(byFile.urls[tier]), catalogSnapshot(byMigrator.urls[tier])]);
    expect(fromFile.tables.length).toBeGreaterThan(0);
    expect(fromFile).toEqual(fromMigrator);
    // The migrator sees what psql applied as done, and adds nothing.
    expect((await migrateTier(tier, byFile.urls[tier])).applied).toEqual([]);
  });

  it('has the seed index names', async () => {
    const seedIndexes: [TierName, string, string][] = [
      ['oltp', 'idx_emails_tenant_status', 'emails'],
      ['oltp', 'idx_campaigns_tenant_dates', 'campaigns'],
      ['content', 'idx_content_expires', 'content_objects'],
      ['content', 'idx_content_hash', 'content_objects'],
      ['notifications', 'idx_notifications_unread', 'notifications'],
    ];
    for (const [tier, index, table] of seedIndexes) {
      const snapshot = await catalogSnapshot(byMigrator.urls[tier]);
      expect(snapshot.indexes.some((row) => row.startsWith(`${table} | ${index} |`)), `${tier}.${index}`).toBe(true);
    }
  });
});
