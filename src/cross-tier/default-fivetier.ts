import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';

let current: Fivetier | undefined;

/**
 * Set the platform that the seed-style free functions use (`new DatabaseTransaction()`,
 * `sendEmail(data)`, `cleanupOrphanedData(key)`). Pass undefined to clear. Never throws.
 */
export function setDefaultFivetier(ft: Fivetier | undefined): void {
  current = ft;
}

/** The platform set with setDefaultFivetier. Throws FT_ERR_CROSS_NO_DEFAULT when none is set. */
export function defaultFivetier(caller: string): Fivetier {
  if (!current) throw new FivetierError('FT_ERR_CROSS_NO_DEFAULT', [caller]);
  return current;
}
