/**
 * Authentication of the /v1 routes: `Authorization: Bearer <key>`. A tenant key gives its
 * tenant, and only the key does (no tenant id in the URL or body is ever trusted); the operator
 * key opens the operator routes. What a route needs comes from its `config.isolation`; a route
 * that declares nothing needs a tenant key (closed by default).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isOperatorKey } from '../api-keys/operator-key.js';
import type { ApiKeyVerifier } from '../api-keys/api-keys.js';
import { FivetierError } from '../errors/codes.js';

export type Caller = { kind: 'tenant'; tenantId: string; keyId: string } | { kind: 'operator' };

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Add the authentication hook to `app` (for the routes registered after it). */
export function installAuth(app: FastifyInstance, options: { verifier: ApiKeyVerifier; operatorKey: string | undefined }): void {
  app.addHook('onRequest', async (request) => {
    const isolation = request.routeOptions.config?.isolation;
    if (isolation?.kind === 'public') return;
    // Not a /v1 route (health, metrics, docs) or no route at all (the not-found handler answers).
    if (!request.routeOptions.url?.startsWith('/v1/')) return;
    const key = bearer(request);
    if (key === undefined) throw new FivetierError('FT_ERR_API_KEY_MISSING');
    if (isOperatorKey(key, options.operatorKey)) {
      if (isolation?.kind !== 'operator') throw new FivetierError('FT_ERR_API_FORBIDDEN', ['the operator key has no tenant: use a tenant API key for this route']);
      request.caller = { kind: 'operator' };
      return;
    }
    const owner = await options.verifier.verify(key);
    if (!owner) throw new FivetierError('FT_ERR_API_KEY_INVALID');
    if (isolation?.kind === 'operator') throw new FivetierError('FT_ERR_API_FORBIDDEN', ['this route needs the operator key']);
    request.caller = { kind: 'tenant', ...owner };
  });
}

/** The caller's tenant (routes that need a tenant key; the hook made sure there is one). */
export function tenantOf(request: FastifyRequest): string {
  const caller = request.caller;
  if (caller?.kind !== 'tenant') throw new FivetierError('FT_ERR_API_FORBIDDEN', ['this route needs a tenant API key']);
  return caller.tenantId;
}
