/**
 * Bulk lead import from a stream of rows (the API parses CSV or NDJSON bodies into one as they
 * arrive): rows are checked one by one, good rows are upserted in batches, bad rows are reported
 * with their row number and field, and memory stays bounded by one batch whatever the size of
 * the input.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { checkAddress, importLeads } from './campaigns.js';

/** Rows per upsert (one OLTP transaction each). */
export const LEAD_IMPORT_BATCH = 1_000;
/** The most rows one import takes; past it the import stops with FT_ERR_API_TOO_LARGE. */
export const LEAD_IMPORT_ROWS_MAX = 1_000_000;
/** Row errors listed in the result; more are counted. */
export const LEAD_IMPORT_ERRORS_LISTED = 100;

export interface LeadImportError {
  /** 1-based number of the data row (a CSV header is not counted). */
  row: number;
  field: string;
  message: string;
}

export interface LeadImportResult {
  /** Rows read. */
  rows: number;
  /** Rows upserted (new or updated leads). */
  imported: number;
  /** Rows refused. */
  failed: number;
  errors: LeadImportError[];
}

function text(row: number, field: string, v: unknown, max: number, errors: (e: LeadImportError) => void): string | null | undefined {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > max) {
    errors({ row, field, message: `${field} must be a string of at most ${max} characters` });
    return undefined;
  }
  return v;
}

/**
 * Import leads from `rows` (objects with `email`, optional `name`, `company`; other columns are
 * ignored). Stops at the first tier error (rethrown; the batches before it stay imported) and past
 * `maxRows` (FT_ERR_API_TOO_LARGE, with what was imported in the message).
 */
export async function importLeadRows(ft: Fivetier, tenantId: string, rows: AsyncIterable<unknown>, options: { maxRows?: number; batchSize?: number } = {}): Promise<LeadImportResult> {
  const maxRows = options.maxRows ?? LEAD_IMPORT_ROWS_MAX;
  const batchSize = options.batchSize ?? LEAD_IMPORT_BATCH;
  const result: LeadImportResult = { rows: 0, imported: 0, failed: 0, errors: [] };
  const report = (e: LeadImportError) => {
    result.failed++;
    if (result.errors.length < LEAD_IMPORT_ERRORS_LISTED) result.errors.push(e);
  };
  // why: one upsert may not touch a lead twice (ON CONFLICT DO UPDATE); the last row of an address wins
  let batch = new Map<string, { email: string; name?: string; company?: string }>();
  const flush = async () => {
    if (batch.size === 0) return;
    const leads = [...batch.values()];
    batch = new Map();
    await importLeads(ft, tenantId, leads);
    result.imported += leads.length;
  };
  try {
    await readRows();
  } catch (err) {
    // why: the batches before a broken input are in; the caller must learn how far it got
    if (err instanceof FivetierError && err.code === 'FT_ERR_INPUT_INVALID') {
      throw new FivetierError('FT_ERR_INPUT_INVALID', [`${err.message} (after ${result.rows} rows: ${result.imported} imported, ${result.failed} refused)`]);
    }
    throw err;
  }
  return result;

  async function readRows(): Promise<void> {
    for await (const raw of rows) {
      const n = ++result.rows;
      if (n > maxRows) {
        result.rows--;
        await flush();
        throw new FivetierError('FT_ERR_API_TOO_LARGE', [`the import has more than ${maxRows} rows; the first ${maxRows} were read (${result.imported} imported, ${result.failed} refused), the rest was not`]);
      }
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        report({ row: n, field: '', message: 'a row must be an object with an email' });
        continue;
      }
      const r = raw as Record<string, unknown>;
      let email: string;
      try {
        email = checkAddress('email', typeof r.email === 'string' ? r.email.trim() : r.email);
      } catch (err) {
        report({ row: n, field: 'email', message: (err as Error).message });
        continue;
      }
      const before = result.failed;
      const name = text(n, 'name', r.name, 200, report);
      const company = text(n, 'company', r.company, 200, report);
      if (result.failed > before) continue;
      batch.delete(email);
      batch.set(email, { email, ...(name ? { name } : {}), ...(company ? { company } : {}) });
      if (batch.size >= batchSize) await flush();
    }
    await flush();
  }
}
