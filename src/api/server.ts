import Fastify, { type FastifyInstance } from 'fastify';
import { isFivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

export interface ServerOptions {
  fivetier: Fivetier;
  /** Fastify's logger; off by default. */
  logger?: boolean;
}

/**
 * Build the HTTP API (not yet listening). Errors fivetier raises on purpose answer with their
 * registry status and `{ code, message }`; anything else is a 500 without internals.
 */
export async function buildServer({ fivetier, logger = false }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger });
  app.setErrorHandler((err, _request, reply) => {
    if (isFivetierError(err)) return reply.code(err.status).send({ code: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ code: 'FT_ERR_INPUT_INVALID', message: (err as Error).message });
    }
    app.log.error(err);
    return reply.code(500).send({ code: 'FT_ERR_INTERNAL', message: 'internal error' });
  });
  await app.register(healthRoutes, { fivetier });
  await app.register(metricsRoutes, { fivetier });
  return app;
}
