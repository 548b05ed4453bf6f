import { Command } from 'commander';
import { benchCommand } from './commands/bench.js';
import { checkCommand } from './commands/check.js';
import { cleanupCommand } from './commands/cleanup.js';
import { demoCommand } from './commands/demo.js';
import { eraseCommand } from './commands/erase.js';
import { migrateCommand } from './commands/migrate.js';
import { queueCommand } from './commands/queue.js';
import { retentionCommand } from './commands/retention.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';

/**
 * The `fivetier` program with every command, ready to parse. Commander's own exits are turned
 * into thrown CommanderErrors on every command (main.ts maps them to exit codes); tests walk
 * `program.commands` for the list of commands.
 */
export function buildProgram(): Command {
  const program = new Command('fivetier')
    .description('The five-tier data platform: OLTP, Content, OLAP, Queue and Notifications.')
    .exitOverride();
  for (const command of [startCommand(), migrateCommand(), statusCommand(), checkCommand(), cleanupCommand(), retentionCommand(), eraseCommand(), queueCommand(), demoCommand(), benchCommand()]) {
    program.addCommand(command);
  }
  // why: exitOverride is not inherited by commands built on their own; without it a subcommand's
  // bad option makes commander exit 1 itself, where the README promises 2 for bad input.
  const overrideExits = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExits);
  };
  overrideExits(program);
  return program;
}
