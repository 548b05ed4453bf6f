import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import type { Fivetier } from '../../src/platform.js';
import { TIER_NAMES } from '../../src/types.js';
import { freePort } from '../helpers/processes.js';
import { openTestFivetier } from '../helpers/platform.js';

describe('GET /health and GET /metrics', () => {
  let ft: Fivetier;
  let app: FastifyInstance;
  beforeAll(async () => {
    ft = await openTestFivetier();
    app = await buildServer({ fivetier: ft });
  });
  afterAll(async () => {
    await app?.close();
    await ft?.close();
  });

  it('reports every tier up with its latency', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('up');
    for (const tier of TIER_NAMES) {
      expect(body.tiers[tier].status).toBe('up');
      expect(body.tiers[tier].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('serves Prometheus metrics with pool gauges per tier and no tenant label', async () => {
    await ft.oltp.withTenant('7f1c6a62-9d3e-4a59-9d59-0f2f2b7e2a11', (tx) => tx.query('select 1'));
    await app.inject({ method: 'GET', url: '/health' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/fivetier_pool_connections\{tier="oltp",state="total"\} \d+/);
    expect(res.body).toMatch(/fivetier_tier_up\{tier="content"\} 1/);
    expect(res.body).toMatch(new RegExp(`fivetier_pool_max_connections\\{tier="oltp"\\} ${ft.oltp.config.pool.max}`));
    expect(res.body).toMatch(/fivetier_tier_circuit_open\{tier="oltp"\} 0/);
    expect(res.body).toMatch(/fivetier_query_duration_seconds_count\{tier="oltp"\} [1-9]/);
    expect(res.body).not.toMatch(/tenant/);
  });
});

describe('GET /health with a tier down', () => {
  it('reports that tier down and the service degraded, answering 200', async () => {
    // Nothing listens on this port: the notifications tier's connections are refused.
    const dead = new URL(inject('tierUrls').notifications);
    dead.port = String(await freePort());
    const ft = await openTestFivetier({ tiers: { notifications: { url: dead.toString(), pool: { connectionTimeoutMillis: 1000 } } } });
    const app = await buildServer({ fivetier: ft });
    try {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.status).toBe('degraded');
      expect(body.tiers.notifications.status).toBe('down');
      expect(body.tiers.notifications.error).toMatch(/ECONNREFUSED|connect/);
      expect(body.tiers.oltp.status).toBe('up');
    } finally {
      await app.close();
      await ft.close();
    }
  });
});
