import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier } from '../../platform.js';

/** `fivetier migrate`: apply pending migrations on every tier, then exit. */
export function migrateCommand(): Command {
  return new Command('migrate').description('apply pending schema migrations on every tier').action(async () => {
    const config = loadConfig(process.env);
    const ft = await openFivetier({ config, log: (l) => console.log(l) });
    try {
      for (const m of ft.migrations) {
        console.log(`${m.tier.padEnd(14)} version ${m.version}${m.applied.length ? ` (applied ${m.applied.join(', ')})` : ' (up to date)'}`);
      }
    } finally {
      await ft.close();
    }
  });
}
