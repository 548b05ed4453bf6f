/**
 * How each API route keeps tenants apart, declared on the route (`config.isolation`) and collected
 * from the route table, so the isolation test (test/api/isolation.test.ts) covers every route
 * that exists, and fails for a route that declares nothing.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

/** Resources whose objects routes name by id (the test has a fixture for each). */
export type IsolatedResource = 'template' | 'lead' | 'campaign' | 'email' | 'suppression' | 'notification' | 'job';

/**
 * - `object`: the route names one of the caller's objects in the URL parameter `param` (default
 *   `id`); another tenant's id answers 404 and changes nothing. `body` / `query` are a valid
 *   request apart from the id (the string `{userId}` stands for a user of the object's tenant).
 * - `listing`: the route lists the caller's rows of `resource` only.
 * - `tenant`: acts on the caller's own tenant without naming an object (create, usage).
 * - `operator`: the operator key only; a tenant key answers 403.
 * - `public`: no key (tracking links, signed webhooks); the route checks what it needs itself.
 */
export type Isolation =
  | { kind: 'object'; resource: IsolatedResource; param?: string; body?: Record<string, unknown>; query?: Record<string, string> }
  | { kind: 'listing'; resource: IsolatedResource; query?: Record<string, string> }
  | { kind: 'tenant' }
  | { kind: 'operator' }
  | { kind: 'public' };

declare module 'fastify' {
  interface FastifyContextConfig {
    isolation?: Isolation;
  }
}

/** One route of the table as the isolation test reads it. */
export interface RouteEntry {
  method: string;
  url: string;
  isolation: Isolation | undefined;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Start recording the routes registered on `app` from now on. */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) table.push({ method, url: route.url, isolation: (route.config as { isolation?: Isolation } | undefined)?.isolation });
  });
}

/** The routes registered on `app` (method, URL, declared isolation). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}
