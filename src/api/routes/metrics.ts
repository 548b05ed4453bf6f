import type { FastifyPluginAsync } from 'fastify';
import { poolConnections, registry } from '../../ops/metrics.js';
import type { Fivetier } from '../../platform.js';
import { TIER_NAMES } from '../../types.js';

/** `GET /metrics`: Prometheus text format. Pool gauges are read at scrape time. */
export const metricsRoutes: FastifyPluginAsync<{ fivetier: Fivetier }> = async (app, { fivetier }) => {
  app.get('/metrics', async (_request, reply) => {
    for (const tier of TIER_NAMES) {
      const stats = fivetier.tiers[tier].poolStats();
      for (const [state, value] of Object.entries(stats)) poolConnections.set({ tier, state }, value);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
