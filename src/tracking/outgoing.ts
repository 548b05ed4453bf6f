/**
 * What the send pipeline adds to a campaign email so that its opens, clicks and unsubscribes
 * come back: an open pixel, links rewritten to the click route, and the RFC 8058 one-click
 * unsubscribe headers. Run by email.send (src/email/send-job.ts) on each message as it is
 * delivered; the content tier keeps the body as rendered.
 */
import type { FivetierConfig } from '../config/config.js';
import { trackingSecrets } from './secrets.js';
import { normalizeTrackableUrl, signToken, type TrackingClaims } from './token.js';

/** Paths of the public tracking routes, under the public base URL. */
export const TRACKING_PATHS = { open: '/v1/t/o', click: '/v1/t/c', unsubscribe: '/v1/t/u' } as const;

export interface TrackedEmail {
  html: string;
  /** Headers to add to the message (`List-Unsubscribe`, `List-Unsubscribe-Post`). */
  headers: Record<string, string>;
}

/** `FIVETIER_PUBLIC_URL`, else the API's own address (which suits a local first run only). */
export function publicBaseUrl(config: FivetierConfig): string {
  const { host, port } = config.http;
  return config.tracking.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The public URL of a tracking route for one token. */
export function trackingUrl(config: FivetierConfig, kind: keyof typeof TRACKING_PATHS, token: string): string {
  return `${publicBaseUrl(config)}${TRACKING_PATHS[kind]}/${token}${kind === 'open' ? '.gif' : ''}`;
}

/**
 * Add tracking to a rendered email of `tenantId` with id `emailId`: the unsubscribe headers
 * always; the open pixel and the click links as `config.tracking.track` says. Deterministic (the
 * same email gives the same output), so a retried send stores and sends the same body. Throws
 * only when the tracking secrets cannot be had (FT_ERR_CONFIG_INVALID).
 *
 * @example
 * const { html, headers } = trackEmail(ft.config, { tenantId, emailId }, rendered.html);
 */
export function trackEmail(config: FivetierConfig, email: { tenantId: string; emailId: string }, html: string): TrackedEmail {
  const key = trackingSecrets(config).tracking[0]!;
  const sign = (claims: Omit<TrackingClaims, 'tenantId' | 'emailId'>) => signToken(key, { ...claims, tenantId: email.tenantId, emailId: email.emailId });
  const unsubscribe = sign({ kind: 'unsubscribe' });
  const unsubscribeUrl = trackingUrl(config, 'unsubscribe', unsubscribe);
  const mailto = config.tracking.unsubscribeMailto;
  const headers: Record<string, string> = {
    'List-Unsubscribe': `<${unsubscribeUrl}>${mailto ? `, <mailto:${mailto}?subject=unsubscribe%20${unsubscribe}>` : ''}`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
  let out = html;
  if (config.tracking.track.clicks) out = rewriteLinks(out, (url) => trackingUrl(config, 'click', sign({ kind: 'click', url })));
  if (config.tracking.track.opens) out = insertPixel(out, trackingUrl(config, 'open', sign({ kind: 'open' })));
  return { html: out, headers };
}

/**
 * A message about to be delivered, with tracking: its html tracked and the unsubscribe headers
 * added to its own. `message.id` is the email's id. The one call the send pipeline makes, at
 * delivery: the content tier keeps the body as rendered, and every delivery attempt of an email
 * sends the same bytes (tracking is deterministic).
 */
export function trackMessage<M extends { id: string; html: string; headers?: Record<string, string> }>(config: FivetierConfig, tenantId: string, message: M): M & { headers: Record<string, string> } {
  const tracked = trackEmail(config, { tenantId, emailId: message.id }, message.html);
  return { ...message, html: tracked.html, headers: { ...message.headers, ...tracked.headers } };
}

/** `href` of an `<a>` tag, quoted either way; the tag's other attributes are kept as they are. */
const ANCHOR_HREF = /(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')/gi;

/**
 * Every `<a href="http(s)://…">` pointed at `wrap(url)`. Links that are not absolute http(s)
 * URLs (mailto:, tel:, #anchors, relative ones) or too long to sign stay as they are. The URL
 * signed is the one a browser would follow: the attribute with its character references decoded.
 */
export function rewriteLinks(html: string, wrap: (url: string) => string): string {
  return html.replace(ANCHOR_HREF, (whole, start: string, double: string | undefined, single: string | undefined) => {
    const url = normalizeTrackableUrl(decodeEntities((double ?? single ?? '').trim()));
    if (url === undefined) return whole;
    return `${start}"${escapeAttribute(wrap(url))}"`;
  });
}

/** The 1x1 open pixel, before `</body>` when there is one, else at the end. */
export function insertPixel(html: string, src: string): string {
  const img = `<img src="${escapeAttribute(src)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
  const at = html.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
  return at < 0 ? html + img : html.slice(0, at) + img + html.slice(at);
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** HTML character references in an attribute value, decoded (the common named ones and numeric). */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
