import type { FastifyPluginAsync } from 'fastify';
import { checkHealth } from '../../ops/health.js';
import type { Fivetier } from '../../platform.js';

/**
 * `GET /health`: each tier's status and latency. Answers 200 while at least one tier is up
 * (the platform keeps working with a tier down, and says which in the body), 503 when none is.
 */
export const healthRoutes: FastifyPluginAsync<{ fivetier: Fivetier }> = async (app, { fivetier }) => {
  app.get('/health', async (_request, reply) => {
    const report = await checkHealth(fivetier);
    return reply.code(report.status === 'down' ? 503 : 200).send(report);
  });
};
