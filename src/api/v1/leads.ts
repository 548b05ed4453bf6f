/**
 * Leads: bulk import and reads. `POST /v1/leads/import` takes CSV (`text/csv`, a header row with
 * `email` and optionally `name`, `company`), NDJSON (`application/x-ndjson`, one object per
 * line) or a JSON array. CSV and NDJSON are parsed as the body arrives and imported in batches,
 * so a file of any size is imported in bounded memory; every refused row is reported with its
 * number and field.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { FastifyPluginAsync } from 'fastify';
import { importLeadRows, LEAD_IMPORT_ROWS_MAX } from '../../campaigns/lead-import.js';
import { getLead, listLeads } from '../../campaigns/resource-reads.js';
import { FivetierError } from '../../errors/codes.js';
import { tenantOf } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams, pageQuery, tenantKey } from '../schemas.js';
import type { ApiContext } from './context.js';

/** The longest CSV record or NDJSON line, in characters. */
const ROW_MAX_CHARS = 64 * 1024;
/** A JSON array body is parsed whole: it is meant for small imports. */
const JSON_IMPORT_BYTES_MAX = 10 * 1024 * 1024;

/** CSV rows as objects keyed by the (trimmed, lower-cased) header. */
async function* csvRows(body: Readable): AsyncGenerator<unknown> {
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: ROW_MAX_CHARS,
  });
  body.on('error', (err) => parser.destroy(err));
  body.pipe(parser);
  try {
    for await (const row of parser) yield row;
  } catch (err) {
    if (err instanceof FivetierError) throw err;
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`the CSV cannot be read: ${(err as Error).message}`]);
  }
}

/** NDJSON lines as values; a line that is not JSON is yielded as a marker the import refuses. */
async function* ndjsonRows(body: Readable): AsyncGenerator<unknown> {
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    if (line.length > ROW_MAX_CHARS) {
      yield null;
      continue;
    }
    try {
      yield JSON.parse(line);
    } catch {
      yield null;
    }
  }
}

async function* arrayRows(rows: unknown[]): AsyncGenerator<unknown> {
  yield* rows;
}

export const leadRoutes: FastifyPluginAsync<ApiContext> = async (app, { fivetier }) => {
  // why: hand the body over as a stream; the route parses it as it arrives
  app.addContentTypeParser(['text/csv', 'application/x-ndjson'], (_request, payload, done) => done(null, payload));

  app.post('/v1/leads/import', {
    config: { isolation: { kind: 'tenant' } },
    bodyLimit: JSON_IMPORT_BYTES_MAX,
    schema: {
      tags: ['leads'],
      summary: `Import leads from CSV, NDJSON (streamed, up to ${LEAD_IMPORT_ROWS_MAX} rows) or a JSON array; upserts by address and reports refused rows`,
      security: tenantKey,
      consumes: ['text/csv', 'application/x-ndjson', 'application/json'],
    },
  }, async (request) => {
    const tenantId = tenantOf(request);
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let rows: AsyncIterable<unknown>;
    if (type === 'text/csv') rows = csvRows(request.body as Readable);
    else if (type === 'application/x-ndjson') rows = ndjsonRows(request.body as Readable);
    else {
      const body = request.body as unknown;
      const list = Array.isArray(body) ? body : (body as { leads?: unknown } | null)?.leads;
      if (!Array.isArray(list)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['a JSON import is an array of leads (or { "leads": [...] })']);
      rows = arrayRows(list);
    }
    return importLeadRows(fivetier, tenantId, rows);
  });

  app.get('/v1/leads', {
    config: { isolation: { kind: 'listing', resource: 'lead' } },
    schema: { tags: ['leads'], summary: 'List leads', security: tenantKey, querystring: pageQuery },
  }, async (request) => ({ leads: await listLeads(fivetier, tenantOf(request), request.query as { after?: string; limit?: number }) }));

  app.get('/v1/leads/:id', {
    config: { isolation: { kind: 'object', resource: 'lead' } },
    schema: { tags: ['leads'], summary: 'Read a lead', security: tenantKey, params: idParams },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const lead = await getLead(fivetier, tenantOf(request), id);
    if (!lead) throw notFound('lead', id);
    return lead;
  });
};
