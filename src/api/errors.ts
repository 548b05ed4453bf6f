/**
 * The API's one error mapping: every error answers `{ code, message }` with a code of
 * src/errors/codes.ts (plus `field` for bad input, `tier` for a tier that is down), and never a
 * stack trace or an internal message.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { FivetierError, isFivetierError, type ErrorCode } from '../errors/codes.js';
import { redactUrls } from '../config/redact.js';
import { isConnectionError } from '../tiers/connection-errors.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
  tier?: string;
}

/** The field a validation error is about: `body.name`, `query.limit`, `params.id`. */
function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
  const path = `${v.instancePath ?? ''}${missing ? `/${missing}` : ''}`.replace(/^\//, '').replace(/\//g, '.');
  const context = err.validationContext ?? 'body';
  return path ? `${context}.${path}` : context;
}

/** What to answer for `err`: status and body. */
export function errorReply(err: unknown): { status: number; body: ErrorBody } {
  if (isFivetierError(err)) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.code === 'FT_ERR_TIER_UNAVAILABLE') body.tier = /^the (\w+) tier/.exec(err.message)?.[1];
    return { status: err.status, body };
  }
  const e = err as FastifyError & { code?: string };
  if (e?.validation) {
    return { status: 400, body: { code: 'FT_ERR_INPUT_INVALID', message: e.message, field: fieldOf(e) } };
  }
  // SQL errors that say what is wrong with the request, not with the platform
  if (e?.code === '23505') return reply('FT_ERR_API_CONFLICT', ['an object with these values exists already']);
  if (e?.code === '23503') return reply('FT_ERR_INPUT_INVALID', ['an object the request refers to does not exist']);
  if (e?.code === '22P02' || e?.code === '22001') return reply('FT_ERR_INPUT_INVALID', ['a value of the request has the wrong form or is too long']);
  // why: only errors of a connection (ECONNREFUSED, SQLSTATE 08...); Node's ERR_* and Fastify's FST_* are not
  if (!/^(ERR_|FST_)/.test(String(e?.code ?? '')) && isConnectionError(e)) return { status: 503, body: { code: 'FT_ERR_TIER_UNAVAILABLE', message: 'a tier the request needs is unavailable' } };
  const status = e?.statusCode;
  if (status === 413 || e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply('FT_ERR_API_TOO_LARGE', ['the request body is larger than this route accepts']);
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own 4xx (bad JSON, unsupported media type): its message names what is wrong
    return { status, body: { code: 'FT_ERR_INPUT_INVALID', message: e.message } };
  }
  return { status: 500, body: { code: 'FT_ERR_INTERNAL', message: 'internal error' } };
}

function reply(code: ErrorCode, args: unknown[]): { status: number; body: ErrorBody } {
  const err = new FivetierError(code, args);
  return { status: err.status, body: { code, message: err.message } };
}

/**
 * Install the error and not-found handlers on `app`. Unexpected errors are logged (Fastify's
 * logger, and `log` as one line without URLs' passwords), never answered.
 */
export function installErrorHandling(app: FastifyInstance, log?: (line: string) => void): void {
  app.setErrorHandler((err, request, res) => {
    const { status, body } = errorReply(err);
    if (status >= 500) {
      request.log.error({ err, code: body.code }, 'request failed');
      if (body.code === 'FT_ERR_INTERNAL') log?.(`api: ${request.method} ${request.routeOptions.url ?? '?'} failed: ${redactUrls(String((err as Error)?.message ?? err))}`);
    }
    return res.code(status).send(body);
  });
  app.setNotFoundHandler((request, res) => {
    return res.code(404).send({ code: 'FT_ERR_API_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } satisfies ErrorBody);
  });
}

/** The 404 of an object the caller's tenant does not have (whether another tenant has it or not). */
export function notFound(resource: string, id: string): FivetierError {
  return new FivetierError('FT_ERR_API_NOT_FOUND', [resource, JSON.stringify(id).slice(0, 80)]);
}
