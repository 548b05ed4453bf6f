/**
 * The settings of open and click tracking, one-click unsubscribe and the delivery-event
 * webhook (docs/tracking.md), read by `loadConfig` with the rest of the configuration.
 */
import { FivetierError } from '../errors/codes.js';
import { withSafeView } from './redact.js';

/** Settings of the public tracking routes and the delivery-event webhook. */
export interface TrackingConfig {
  /**
   * Base URL the tracking links in emails point to (`FIVETIER_PUBLIC_URL`), without a trailing
   * slash. Undefined: the API's own address, `http://<http.host>:<http.port>`.
   */
  readonly publicUrl: string | undefined;
  /**
   * `FIVETIER_TRACKING_SECRET`: the secrets that sign tracking tokens, newest first (the first
   * signs, every one verifies, so a secret can rotate). Undefined: generated once into the data
   * folder (src/tracking/secrets.ts).
   */
  readonly secrets: readonly string[] | undefined;
  /** `FIVETIER_WEBHOOK_SECRET`: the secrets a delivery-event webhook may be signed with (any one verifies). Undefined: generated like `secrets`. */
  readonly webhookSecrets: readonly string[] | undefined;
  /** `FIVETIER_UNSUBSCRIBE_MAILTO`: an address for the `mailto:` part of `List-Unsubscribe`; undefined: the header has the HTTPS link only. */
  readonly unsubscribeMailto: string | undefined;
  /** `FIVETIER_TRACKING`: what campaign emails track (default both); the unsubscribe headers are added either way. */
  readonly track: { readonly opens: boolean; readonly clicks: boolean };
}

/** The same settings as a library caller passes them (`loadConfig(env, { tracking })`); they win over the variables. */
export interface TrackingOverrides {
  publicUrl?: string;
  /** One secret, or several newest first (a string may list them comma-separated). */
  secrets?: string | readonly string[];
  webhookSecrets?: string | readonly string[];
  unsubscribeMailto?: string;
  track?: { opens?: boolean; clicks?: boolean };
}

/** Shortest tracking or webhook secret accepted, in characters (32 base64 characters = 192 bits). */
export const TRACKING_SECRET_MIN_LENGTH = 32;

/** The variables read here. */
export const TRACKING_ENV = ['FIVETIER_PUBLIC_URL', 'FIVETIER_TRACKING_SECRET', 'FIVETIER_WEBHOOK_SECRET', 'FIVETIER_UNSUBSCRIBE_MAILTO', 'FIVETIER_TRACKING'] as const;

const invalid = (name: string, why: string) => new FivetierError('FT_ERR_CONFIG_INVALID', [name, why]);

/**
 * A list of secrets, comma-separated (newest first). Each must be long enough to resist
 * guessing; the message never shows a value, only its position and length.
 */
function parseSecrets(name: string, value: string | readonly string[] | undefined): readonly string[] | undefined {
  if (value === undefined || value === '') return undefined;
  const list = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => String(s).trim());
  list.forEach((secret, i) => {
    if (secret.length < TRACKING_SECRET_MIN_LENGTH) {
      throw invalid(name, `secret ${i + 1} of ${list.length} is ${secret.length} characters long; each must have at least ${TRACKING_SECRET_MIN_LENGTH} (e.g. openssl rand -base64 32)`);
    }
  });
  return Object.freeze(list);
}

/** `FIVETIER_TRACKING`: `opens,clicks` (default), `opens`, `clicks` or `none`. */
function parseTrack(value: string | undefined): { opens: boolean; clicks: boolean } {
  if (value === undefined || value === '') return { opens: true, clicks: true };
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === 'none') return { opens: false, clicks: false };
  for (const p of parts) if (p !== 'opens' && p !== 'clicks') throw invalid('FIVETIER_TRACKING', `expected opens, clicks, both comma-separated, or none; got ${JSON.stringify(value)}`);
  return { opens: parts.includes('opens'), clicks: parts.includes('clicks') };
}

/** An http(s) base URL without credentials, query or fragment, and without a trailing slash. */
function parsePublicUrl(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(name, `not a URL: ${JSON.stringify(value.slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(name, `expected an http: or https: URL, got ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash) throw invalid(name, 'must be a plain base URL (no credentials, query or fragment)');
  return url.toString().replace(/\/+$/, '');
}

/** A bare email address (for `mailto:`): no spaces, brackets or commas that would break the header. */
function parseMailAddress(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[^\s<>,;:"()@]+@[^\s<>,;:"()@]+$/.test(value)) throw invalid(name, `not a plain email address: ${JSON.stringify(value)}`);
  return value;
}

/**
 * The tracking settings; an override wins over its variable. Throws FT_ERR_CONFIG_INVALID naming
 * the setting. Printing the result shows `***` for every secret.
 */
export function trackingConfig(env: NodeJS.ProcessEnv, overrides: TrackingOverrides = {}): TrackingConfig {
  const o = overrides;
  const tracking: TrackingConfig = {
    publicUrl: 'publicUrl' in o ? parsePublicUrl('tracking.publicUrl', o.publicUrl) : parsePublicUrl('FIVETIER_PUBLIC_URL', env.FIVETIER_PUBLIC_URL),
    secrets: 'secrets' in o ? parseSecrets('tracking.secrets', o.secrets) : parseSecrets('FIVETIER_TRACKING_SECRET', env.FIVETIER_TRACKING_SECRET),
    webhookSecrets: 'webhookSecrets' in o ? parseSecrets('tracking.webhookSecrets', o.webhookSecrets) : parseSecrets('FIVETIER_WEBHOOK_SECRET', env.FIVETIER_WEBHOOK_SECRET),
    unsubscribeMailto:
      'unsubscribeMailto' in o ? parseMailAddress('tracking.unsubscribeMailto', o.unsubscribeMailto) : parseMailAddress('FIVETIER_UNSUBSCRIBE_MAILTO', env.FIVETIER_UNSUBSCRIBE_MAILTO),
    track: Object.freeze({ ...parseTrack(env.FIVETIER_TRACKING), ...o.track }),
  };
  const hidden = (list: readonly string[] | undefined) => list?.map(() => '***');
  return Object.freeze(withSafeView(tracking, () => ({ ...tracking, secrets: hidden(tracking.secrets), webhookSecrets: hidden(tracking.webhookSecrets) })));
}
