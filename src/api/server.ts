/**
 * The HTTP API: `/health`, `/metrics`, the `/v1` resources and their OpenAPI document
 * (`/docs`, `/docs/json`).
 *
 * How to add a /v1 route (read this before adding one):
 * - One module per resource in `src/api/v1/<resource>.ts`, a Fastify plugin taking ApiContext,
 *   registered in `registerV1` below. Routes call library functions (src/campaigns, src/email,
 *   ...), never SQL.
 * - Every route declares a JSON schema (validation and the OpenAPI document) and, in
 *   `config.isolation`, how it keeps tenants apart (src/api/isolation.ts): `object` (names one
 *   of the caller's objects by a URL parameter), `listing` (lists the caller's rows), `tenant`
 *   (acts on the caller's tenant, no id), `operator` (operator key only) or `public` (no key:
 *   tracking links, signed webhooks; the route checks its own token or signature).
 *   test/api/isolation.test.ts walks the registered route table: a /v1 route without a
 *   declaration, or an `object`/`listing` route of a resource it has no fixture for, fails it.
 * - Authentication (src/api/auth.ts) comes from the declaration: tenant key by default, the
 *   tenant from the key alone. Errors: throw FivetierError (src/errors/codes.ts); src/api/errors.ts
 *   maps everything to `{ code, message }` with its status, 503 naming the tier that is down.
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { Redis } from 'ioredis';
import { ApiKeyVerifier } from '../api-keys/api-keys.js';
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { installAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import { recordRoutes } from './isolation.js';
import { dashboardRoutes } from './dashboard/index.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { analyticsRoutes } from './v1/analytics.js';
import { apiKeyRoutes } from './v1/api-keys.js';
import { campaignRoutes } from './v1/campaigns.js';
import { consistencyRoutes } from './v1/consistency.js';
import { deliveryWebhookRoutes } from './v1/delivery-webhooks.js';
import type { ApiContext } from './v1/context.js';
import { emailRoutes } from './v1/emails.js';
import { leadRoutes } from './v1/leads.js';
import { notificationRoutes } from './v1/notifications.js';
import { queueRoutes } from './v1/queue.js';
import { suppressionRoutes } from './v1/suppressions.js';
import { templateRoutes } from './v1/templates.js';
import { tenantRoutes } from './v1/tenants.js';
import { trackingRoutes } from './v1/tracking.js';

export { routeTable, type Isolation, type RouteEntry } from './isolation.js';

export interface ServerOptions {
  fivetier: Fivetier;
  /** Fastify's logger: off by default; `true` or pino options (e.g. a stream). */
  logger?: boolean | Record<string, unknown>;
  /** The key of the operator routes and the dashboard; without it they answer 403 to every key. */
  operatorKey?: string;
  /** Requests per key per `windowMs` (default: the platform's config, 60 s). */
  rateLimit?: { max?: number; windowMs?: number };
  /** How long a verified API key is remembered in this process, in ms (default 10 s). */
  keyCacheMs?: number;
  /** One line per unexpected error (a 500), for the service's log. */
  log?: (line: string) => void;
}

/** The /v1 route modules, in one list so the OpenAPI document and the isolation test see them all. */
export async function registerV1(app: FastifyInstance, context: ApiContext): Promise<void> {
  await app.register(tenantRoutes, context);
  await app.register(apiKeyRoutes, context);
  await app.register(templateRoutes, context);
  await app.register(leadRoutes, context);
  await app.register(campaignRoutes, context);
  await app.register(emailRoutes, context);
  await app.register(suppressionRoutes, context);
  await app.register(notificationRoutes, context);
  await app.register(analyticsRoutes, context);
  await app.register(queueRoutes, context);
  await app.register(consistencyRoutes, context);
  // Public, no API key: signed tracking links and signed delivery-event webhooks (docs/tracking.md).
  await app.register(trackingRoutes, context);
  await app.register(deliveryWebhookRoutes, context);
}

/**
 * Build the HTTP API (not yet listening). Errors answer with their registry status and
 * `{ code, message }`; anything unexpected is a 500 without internals.
 */
export async function buildServer({ fivetier, logger = false, operatorKey, rateLimit, keyCacheMs, log }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    exposeHeadRoutes: false,
    // why: the Authorization header must never reach a log line, whatever the log level
    ...(logger ? { logger: { ...(typeof logger === 'object' ? logger : {}), redact: ['req.headers.authorization'] } } : {}),
  });
  recordRoutes(app);
  installErrorHandling(app, log);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'fivetier API', version: '1', description: 'Multi-tenant email sending over five tiers. Errors: `{ code, message }`, codes in docs/errors.md.' },
      components: {
        securitySchemes: {
          tenantKey: { type: 'http', scheme: 'bearer', description: "A tenant's API key (ft_live_...); the tenant comes from the key" },
          operatorKey: { type: 'http', scheme: 'bearer', description: 'The operator key (FIVETIER_OPERATOR_KEY, or the operator-key file of the data folder)' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { fivetier });
  await app.register(metricsRoutes, { fivetier });

  const verifier = new ApiKeyVerifier(fivetier, { ttlMs: keyCacheMs });
  installAuth(app, { verifier, operatorKey });

  // why: counted in Redis when there is one, so the limit holds across instances; fail open
  // (skipOnError) rather than refuse every request while Redis is down
  const redisUrl = fivetier.config.redisUrl;
  const redis = redisUrl ? new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, connectTimeout: 2_000 }) : undefined;
  redis?.on('error', () => {});
  if (redis) app.addHook('onClose', async () => void redis.disconnect());
  const max = rateLimit?.max ?? fivetier.config.api?.rateLimitPerMinute ?? 6_000;
  const windowMs = rateLimit?.windowMs ?? 60_000;
  // why: instances sharing Redis but not an operator key must not share its budget; a hash names it
  const operatorBucket = `operator:${createHash('sha256').update(operatorKey ?? '').digest('hex').slice(0, 16)}`;
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'preHandler',
    max,
    timeWindow: windowMs,
    redis,
    nameSpace: 'fivetier-api-rate:',
    skipOnError: true,
    keyGenerator: (request) => (request.caller?.kind === 'tenant' ? `key:${request.caller.keyId}` : request.caller?.kind === 'operator' ? operatorBucket : `ip:${request.ip}`),
    allowList: (request) => !request.routeOptions.url?.startsWith('/v1/'),
    errorResponseBuilder: (_request, context) => new FivetierError('FT_ERR_API_RATE_LIMITED', [context.max, `${windowMs / 1000} s`, Math.ceil(context.ttl / 1000)]),
  });

  await registerV1(app, { fivetier, verifier });
  await app.register(dashboardRoutes, { fivetier, operatorKey });
  return app;
}
