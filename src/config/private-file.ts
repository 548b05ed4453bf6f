/**
 * The secrets fivetier makes for itself (the embedded server's passwords, the operator key, the
 * tracking and webhook secrets) live in files of the data folder that only their owner can read.
 * One helper reads such a file, or makes it once.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The text of `file`, made with `make()` when there is none. The file is mode 0600 (tightened
 * when found looser: a copy made by hand may have loosened it) in a folder made 0700. A new file is
 * written whole under a private name, then linked into place: no reader sees half a file, and of
 * two processes starting at once on one data folder the loser reads the winner's file, so both
 * hold the same secret. Throws the file system's error (anything but a missing file).
 */
export function readOrCreatePrivateFile(file: string, make: () => string): { text: string; created: boolean } {
  const existing = readPrivate(file);
  if (existing !== undefined) return { text: existing, created: false };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const text = make();
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, file);
    return { text, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = readPrivate(file);
    if (theirs === undefined) throw err;
    return { text: theirs, created: false };
  } finally {
    rmSync(draft, { force: true });
  }
}

/** The file's text with its mode tightened to 0600, or undefined when there is no file. */
function readPrivate(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  chmodSync(file, 0o600);
  return text;
}
