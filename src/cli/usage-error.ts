/** Exit code for bad input: a wrong flag, a bad value, an unknown setting. */
export const EXIT_USAGE = 2;

/** Bad input on the command line; the CLI prints the message and exits with EXIT_USAGE. */
export class UsageError extends Error {
  override name = 'UsageError';
}
