#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isFivetierError } from '../errors/codes.js';
import { checkCommand } from './commands/check.js';
import { migrateCommand } from './commands/migrate.js';
import { queueCommand } from './commands/queue.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

const program = new Command('fivetier')
  .description('The five-tier data platform: OLTP, Content, OLAP, Queue and Notifications.')
  .exitOverride();

program.addCommand(startCommand());
program.addCommand(migrateCommand());
program.addCommand(statusCommand());
program.addCommand(checkCommand());
program.addCommand(queueCommand());

try {
  await program.parseAsync(process.argv);
  // `start` keeps running on its server; every other command ends here with its exit code.
  if (program.args[0] !== 'start') process.exit(process.exitCode ?? 0);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its own message (or the help) already.
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  if (err instanceof UsageError || isFivetierError(err, 'FT_ERR_CONFIG_INVALID') || isFivetierError(err, 'FT_ERR_CONFIG_UNKNOWN') || isFivetierError(err, 'FT_ERR_INPUT_INVALID')) {
    console.error(`fivetier: ${(err as Error).message}`);
    process.exit(EXIT_USAGE);
  }
  console.error(`fivetier: ${isFivetierError(err) ? `${err.message} [${err.code}]` : (err as Error).stack}`);
  process.exit(1);
}
