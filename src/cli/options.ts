/** Argument parsers and the platform wrapper the commands share. Parsers throw UsageError (exit 2). */
import { loadConfig } from '../config/config.js';
import { openFivetier, type Fivetier } from '../platform.js';
import { isUuid } from '../types.js';
import { UsageError } from './usage-error.js';

/** A commander option parser for an integer in min..max. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** A uuid, or a UsageError naming the option. */
export function uuidArg(name: string, value: string): string {
  if (!isUuid(value)) throw new UsageError(`${name} must be a uuid, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** An ISO time, or a UsageError naming the option. */
export function timeArg(name: string, value: string): Date {
  const t = new Date(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(t.getTime())) throw new UsageError(`${name} must be an ISO time such as 2026-01-31T00:00:00Z, got ${JSON.stringify(value)}`);
  return t;
}

/** Open the configured tiers (no migration), run `fn`, close. */
export async function withPlatform<T>(fn: (ft: Fivetier) => Promise<T>): Promise<T> {
  const ft = await openFivetier({ config: loadConfig(process.env), migrate: false });
  try {
    return await fn(ft);
  } finally {
    await ft.close();
  }
}

/** Print `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
