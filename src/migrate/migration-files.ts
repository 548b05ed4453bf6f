import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TierName } from '../types.js';

/** One migration file of a tier. */
export interface MigrationFile {
  /** The number at the start of the file name. */
  version: number;
  /** The file name, e.g. `0001_initial.sql`. */
  name: string;
  sql: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
}

/** The `schemas/` folder of the package, from `src/` and from `dist/` alike. */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

const FILE_RE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** The migrations of a tier, in order. Throws if two files share a version. */
export function loadMigrations(tier: TierName, schemasDir = SCHEMAS_DIR): MigrationFile[] {
  const dir = `${schemasDir}/${tier}/migrations`;
  const files = readdirSync(dir).filter((f) => FILE_RE.test(f)).sort();
  const seen = new Set<number>();
  return files.map((name) => {
    const version = Number(FILE_RE.exec(name)![1]);
    if (seen.has(version)) throw new Error(`${tier}: two migrations with version ${version}`);
    seen.add(version);
    const bytes = readFileSync(`${dir}/${name}`);
    return { version, name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
  });
}
