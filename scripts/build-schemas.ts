// Regenerates schemas/<tier>/schema.sql from the tier's migrations.
import { writeFileSync } from 'node:fs';
import { renderSchemaFile } from '../src/migrate/schema-file.js';
import { SCHEMAS_DIR } from '../src/migrate/migration-files.js';
import { TIER_NAMES } from '../src/types.js';

for (const tier of TIER_NAMES) {
  writeFileSync(`${SCHEMAS_DIR}/${tier}/schema.sql`, renderSchemaFile(tier));
  console.log(`wrote schemas/${tier}/schema.sql`);
}
