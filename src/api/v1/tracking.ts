/**
 * The public tracking routes: no API key, the signed token in the URL is the whole credential
 * (src/tracking/token.ts). What a route records, the token says; nothing else in the request
 * is trusted.
 *
 * - `GET /v1/t/o/<token>.gif`: the open pixel. Always a 1x1 GIF, even for a bad token (a broken
 *   image in a reader's email helps nobody); only a valid token records an open.
 * - `GET /v1/t/c/<token>`: a click. 302 to the URL the token signs, and nowhere else; 404 for a
 *   token that does not verify.
 * - `GET /v1/t/u/<token>`: a small page that asks to confirm (link scanners follow GET links;
 *   they must not unsubscribe anyone). `POST` with `List-Unsubscribe=One-Click` (RFC 8058,
 *   what a mailbox provider's unsubscribe button sends, and what the page's button sends)
 *   records the unsubscribe, which puts the address on the tenant's suppression list.
 *
 * A HEAD request (where the server answers it for a GET route) records nothing.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { FivetierError } from '../../errors/codes.js';
import type { Fivetier } from '../../platform.js';
import { recordTracked } from '../../tracking/record.js';
import { trackingSecrets } from '../../tracking/secrets.js';
import { TOKEN_MAX_LENGTH, verifyToken, type TokenKind, type TrackingClaims } from '../../tracking/token.js';

/** A transparent 1x1 GIF (43 bytes). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
/** Largest body an unsubscribe POST may carry, in bytes. */
const UNSUBSCRIBE_BODY_LIMIT = 4_096;

/**
 * Route options of every tracking route: public, no API key (the API's route table reads
 * `config.isolation`; the route checks its own token), and no per-address rate limit: a mail
 * provider's image proxy fetches the pixels of many readers from few addresses, and a refused
 * click is a reader's broken link. A forged token costs one HMAC and no query.
 */
export const TRACKING_ROUTE = { config: { isolation: { kind: 'public' }, rateLimit: false } } as const;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  // why: the pages show no user data, yet nothing on them should run or be framed
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head><body><h1>${title}</h1>${body}</body></html>`;
}

const CONFIRM_PAGE = page(
  'Unsubscribe',
  '<p>Stop receiving these emails?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>',
);
const DONE_PAGE = page('Unsubscribed', '<p>You will not receive these emails any more.</p>');
const INVALID_PAGE = page('Link not valid', '<p>This unsubscribe link is not valid. Use the link in the email as it arrived.</p>');
const GONE_PAGE = page('Link expired', '<p>The email this link belongs to no longer exists.</p>');

/** The token of a tracking route's URL (its wildcard part), within bounds. */
function tokenOf(request: FastifyRequest, suffix = ''): string | undefined {
  const raw = (request.params as Record<string, unknown>)['*'];
  if (typeof raw !== 'string' || raw.length > TOKEN_MAX_LENGTH + suffix.length) return undefined;
  return suffix && raw.endsWith(suffix) ? raw.slice(0, -suffix.length) : raw;
}

/** True when an RFC 8058 one-click body says `List-Unsubscribe=One-Click` (urlencoded or multipart). */
export function isOneClickBody(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  if (new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click') return true;
  // multipart/form-data: a part named List-Unsubscribe whose value is One-Click
  return /content-disposition:\s*form-data;\s*name="?List-Unsubscribe"?\s*\r?\n\r?\nOne-Click\r?\n/i.test(body);
}

export const trackingRoutes: FastifyPluginAsync<{ fivetier: Fivetier }> = async (app, { fivetier }) => {
  // Resolved now, so a missing secret file shows at start-up rather than on the first click.
  const keys = trackingSecrets(fivetier.config).tracking;
  const verify = (token: string | undefined, kind: TokenKind): TrackingClaims | undefined => verifyToken(keys, token, kind);

  /** Record an open or a click; a failure (tier down) loses this one event, never the reader's page. */
  const recordQuietly = async (request: FastifyRequest, claims: TrackingClaims) => {
    if (request.method === 'HEAD') return;
    try {
      await recordTracked(fivetier, claims);
    } catch (err) {
      request.log.warn({ kind: claims.kind, error: (err as Error).message }, 'tracking event not recorded');
    }
  };

  // The one-click body, as text; encapsulated in this plugin, so other routes keep their parsers.
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: UNSUBSCRIBE_BODY_LIMIT }, (_request, body, done) => done(null, body));
  }

  app.get('/v1/t/o/*', TRACKING_ROUTE, async (request, reply) => {
    const claims = verify(tokenOf(request, '.gif'), 'open');
    if (claims) await recordQuietly(request, claims);
    return reply.code(200).headers({ 'content-type': 'image/gif', 'cache-control': 'no-store, private', 'referrer-policy': 'no-referrer' }).send(PIXEL);
  });

  app.get('/v1/t/c/*', TRACKING_ROUTE, async (request, reply) => {
    const claims = verify(tokenOf(request), 'click');
    if (!claims) throw new FivetierError('FT_ERR_TRACKING_TOKEN_INVALID', ['click']);
    await recordQuietly(request, claims);
    // why: the normalised form (non-ASCII percent-encoded) is what a Location header can carry
    return reply.code(302).headers({ location: new URL(claims.url!).href, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).send();
  });

  const unsubscribeClaims = (request: FastifyRequest, reply: FastifyReply): TrackingClaims | undefined => {
    const claims = verify(tokenOf(request), 'unsubscribe');
    if (!claims) void reply.code(404).headers(PAGE_HEADERS).send(INVALID_PAGE);
    return claims;
  };

  app.get('/v1/t/u/*', TRACKING_ROUTE, async (request, reply) => {
    if (!unsubscribeClaims(request, reply)) return reply;
    return reply.code(200).headers(PAGE_HEADERS).send(CONFIRM_PAGE);
  });

  app.post('/v1/t/u/*', TRACKING_ROUTE, async (request, reply) => {
    const claims = unsubscribeClaims(request, reply);
    if (!claims) return reply;
    if (!isOneClickBody(request.body)) {
      throw new FivetierError('FT_ERR_INPUT_INVALID', ['an unsubscribe POST carries the body List-Unsubscribe=One-Click (RFC 8058)']);
    }
    // Errors of the tiers propagate: a 503 makes the mailbox provider try again.
    const outcome = await recordTracked(fivetier, claims);
    if (outcome.outcome === 'unknown_email') return reply.code(404).headers(PAGE_HEADERS).send(GONE_PAGE);
    if (outcome.outcome === 'invalid') throw new FivetierError('FT_ERR_INPUT_INVALID', [outcome.message]);
    return reply.code(200).headers(PAGE_HEADERS).send(DONE_PAGE);
  });
};
