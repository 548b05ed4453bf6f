import type { FastifyPluginAsync } from 'fastify';
import { poolConnections, poolMax, registry, tierCircuitOpen } from '../../ops/metrics.js';
import type { Fivetier } from '../../platform.js';
import { TIER_NAMES } from '../../types.js';

/** `GET /metrics`: Prometheus text format. Pool and circuit gauges are read at scrape time. */
export const metricsRoutes: FastifyPluginAsync<{ fivetier: Fivetier }> = async (app, { fivetier }) => {
  app.get('/metrics', async (_request, reply) => {
    for (const tier of TIER_NAMES) {
      const client = fivetier.tiers[tier];
      for (const [state, value] of Object.entries(client.poolStats())) poolConnections.set({ tier, state }, value);
      poolMax.set({ tier }, client.config.pool.max);
      tierCircuitOpen.set({ tier }, client.state === 'down' ? 1 : 0);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
