/**
 * The operations dashboard: `GET /dashboard` (one HTML page), `/dashboard/dashboard.js` (its
 * script), `/dashboard/uplot.js` + `/dashboard/uplot.css` (the chart library, served from
 * node_modules: no CDN) and `/dashboard/data.json` (the snapshot the page polls, from
 * src/ops/ops-snapshot.ts). The page refreshes itself every few seconds. Every one of them needs
 * the operator key (./auth.ts).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import { opsSnapshot, type OpsSnapshot } from '../../ops/ops-snapshot.js';
import type { Fivetier } from '../../platform.js';
import { requireOperator } from './auth.js';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_HTML } from './page.js';

/** Snapshots are shared by requests within this many ms (several open dashboards cost one). */
const SNAPSHOT_TTL_MS = 1_000;

const require = createRequire(import.meta.url);

export const dashboardRoutes: FastifyPluginAsync<{ fivetier: Fivetier; operatorKey: string | undefined }> = async (app, { fivetier, operatorKey }) => {
  // why: registered inside this plugin, the hook guards these routes only (/health, /metrics stay open)
  app.addHook('onRequest', requireOperator(operatorKey));
  const uplot = {
    js: await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  let cached: { at: number; snapshot: Promise<OpsSnapshot> } | undefined;

  app.get('/dashboard', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(DASHBOARD_HTML));
  app.get('/dashboard/dashboard.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_JS));
  app.get('/dashboard/uplot.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(uplot.js));
  app.get('/dashboard/uplot.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(uplot.css));
  app.get('/dashboard/data.json', async (_request, reply) => {
    const now = Date.now();
    if (!cached || now - cached.at > SNAPSHOT_TTL_MS) cached = { at: now, snapshot: opsSnapshot(fivetier) };
    return reply.header('cache-control', 'no-store').send(await cached.snapshot);
  });
};
