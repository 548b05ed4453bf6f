/**
 * Who may see the dashboard: the operator only. It shows every tier's state, the busiest tenants
 * and the alerts, so a tenant API key does not open it. The operator key comes as
 * `Authorization: Bearer <key>` (curl, scripts) or, because a browser cannot send a bearer header
 * for a typed URL, as the password of HTTP Basic auth (any user name): a 401 carries
 * `WWW-Authenticate: Basic` so the browser asks for it once and sends it with every request
 * under /dashboard, the page's data.json polls included.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isOperatorKey } from '../../api-keys/operator-key.js';
import { FivetierError } from '../../errors/codes.js';
import { errorReply } from '../errors.js';

export const DASHBOARD_REALM = 'fivetier dashboard';

/** The key the request presents: a bearer token, or the password of Basic credentials. */
export function presentedKey(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // why: the user name is free; the password (which may itself hold colons) is the key
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** An onRequest hook that lets only the operator key through. */
export function requireOperator(operatorKey: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (operatorKey === undefined) {
      // why: no key could ever open it; a 401 would only make the browser ask again and again
      const { status, body } = errorReply(new FivetierError('FT_ERR_API_FORBIDDEN', ['the dashboard is closed: this service has no operator key (set FIVETIER_OPERATOR_KEY)']));
      return void reply.code(status).header('cache-control', 'no-store').send(body);
    }
    const key = presentedKey(request.headers.authorization);
    if (key !== undefined && isOperatorKey(key, operatorKey)) return;
    const { status, body } = errorReply(new FivetierError(key === undefined ? 'FT_ERR_API_KEY_MISSING' : 'FT_ERR_API_KEY_INVALID'));
    return void reply
      .code(status)
      .header('www-authenticate', `Basic realm="${DASHBOARD_REALM}", charset="UTF-8"`)
      .header('cache-control', 'no-store')
      .send({ ...body, message: `${body.message}; the dashboard takes the operator key, as a bearer token or as the password of HTTP Basic auth (any user name)` });
  };
}
