#!/usr/bin/env node
import { CommanderError } from 'commander';
import { redactUrls } from '../config/redact.js';
import { isFivetierError } from '../errors/codes.js';
import { buildProgram } from './program.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

const program = buildProgram();

/**
 * A failure that is not fivetier's own. One the system or a library reports with a code
 * (`EADDRINUSE` when the HTTP port is taken, `EACCES` …) is the operator's to fix: its message
 * says it. Anything else is a bug: the stack helps whoever reports it.
 */
function describeFailure(err: unknown): string {
  const e = err as (Error & { code?: unknown }) | undefined;
  if (e instanceof Error && typeof e.code === 'string') return `${e.message} [${e.code}]`;
  return String(e?.stack ?? err);
}

/** What the CLI prints about an error: never a password, even one inside a URL in a message. */
const say = (text: string) => console.error(`fivetier: ${redactUrls(text)}`);

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
    say((err as Error).message);
    process.exit(EXIT_USAGE);
  }
  say(isFivetierError(err) ? `${err.message} [${err.code}]` : describeFailure(err));
  process.exit(1);
}
