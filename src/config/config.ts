import { FivetierError } from '../errors/codes.js';
import { EMBEDDED_DATABASE_NAMES, TIER_NAMES, type TierName } from '../types.js';
import {
  EMBEDDED_DATA_DIR_DEFAULT,
  EMBEDDED_PORT_DEFAULT,
  HTTP_HOST_DEFAULT,
  HTTP_PORT_DEFAULT,
  API_RATE_LIMIT_PER_MINUTE_DEFAULT,
  MAIL_DIR_DEFAULT,
  MAIL_FROM_DEFAULT,
  POOL_DEFAULTS,
  RETENTION_DEFAULTS,
  type RetentionSettings,
  SYSTEM_POOL_MAX_DEFAULT,
  TIER_TIMEOUT_MS_DEFAULT,
  type PoolSettings,
} from './defaults.js';
import { ALERT_ENV, loadAlertSettings, type AlertOverrides, type AlertSettings } from './alerts.js';
import { redactUrl, redactUrls, withSafeView } from './redact.js';
import { TRACKING_ENV, trackingConfig, type TrackingConfig, type TrackingOverrides } from './tracking-config.js';

/** One tier's connection settings. */
export interface TierConfig {
  readonly name: TierName;
  /**
   * Admin connection URL (`OLTP_DB_URL` …): the migrator connects with it and creates the roles.
   * Runtime connections use the same host and database as the role `fivetier_app` (and
   * `fivetier_worker`, `fivetier_maintenance`). Undefined: the tier runs on the embedded default.
   */
  readonly url: string | undefined;
  /**
   * Where `url` comes from: the tier's own setting, the OLTP tier's server (the queue store,
   * in its own database, when `QUEUE_DB_URL` is not set), or nowhere (embedded).
   */
  readonly urlFrom: 'setting' | 'oltp-server' | 'embedded';
  readonly pool: Readonly<PoolSettings>;
}

/** fivetier's whole configuration, validated once and frozen. */
export interface FivetierConfig {
  readonly tiers: Readonly<Record<TierName, TierConfig>>;
  /** `QUEUE_REDIS_URL`: Redis for fast dispatch. Undefined: the queue dispatches from PostgreSQL. */
  readonly redisUrl: string | undefined;
  /** Password fivetier sets on, and logs in with, its login roles. Undefined: no password (trust auth). */
  readonly rolePassword: string | undefined;
  /** Connections of each tier's worker and maintenance pools. */
  readonly systemPoolMax: number;
  /** Bound on how long a call waits on a tier that does not answer, in ms (`FIVETIER_TIER_TIMEOUT_MS`). */
  readonly tierTimeoutMs: number;
  readonly embedded: {
    readonly dataDir: string;
    /** True when no setting named the data folder (then, as root, it may move; see embedded-server.ts). */
    readonly dataDirIsDefault: boolean;
    readonly port: number;
  };
  /** Open and click tracking, one-click unsubscribe, delivery-event webhooks (docs/tracking.md). */
  readonly tracking: TrackingConfig;
  /** Outgoing mail: `SMTP_URL` (pooled SMTP), else .eml files in `dir`; `from` when a campaign names no sender. */
  readonly mail: { readonly smtpUrl: string | undefined; readonly dir: string; readonly from: string };
  readonly http: { readonly host: string; readonly port: number };
  /** How long each tier keeps what (`FIVETIER_RETENTION_*`; see docs/lifecycle.md). */
  readonly retention: Readonly<RetentionSettings>;
  /**
   * The HTTP API: the operator key (`FIVETIER_OPERATOR_KEY`; unset: generated into the data
   * folder on the embedded default, else no operator routes) and requests per minute per key
   * (`FIVETIER_API_RATE_LIMIT`).
   */
  readonly api: { readonly operatorKey: string | undefined; readonly rateLimitPerMinute: number };
  /** Alert evaluation: operators to notify (`FIVETIER_ALERT_OPERATORS`), thresholds and interval (`FIVETIER_ALERT_<NAME>`). */
  readonly alerts: AlertSettings;
}

/** Settings a library caller may pass instead of (or on top of) the environment. */
export interface ConfigOverrides {
  tiers?: Partial<Record<TierName, { url?: string | undefined; pool?: Partial<PoolSettings> }>>;
  redisUrl?: string | undefined;
  rolePassword?: string | undefined;
  systemPoolMax?: number;
  tierTimeoutMs?: number;
  /** Tiers that run on the embedded server while others have URLs (`FIVETIER_EMBEDDED_TIERS`). */
  embeddedTiers?: readonly TierName[];
  tracking?: TrackingOverrides;
  embedded?: Partial<Pick<FivetierConfig['embedded'], 'dataDir' | 'port'>>;
  mail?: Partial<FivetierConfig['mail']>;
  http?: Partial<FivetierConfig['http']>;
  retention?: Partial<RetentionSettings>;
  api?: Partial<FivetierConfig['api']>;
  alerts?: AlertOverrides;
}

const POOL_ENV_SUFFIXES: Readonly<Record<string, keyof PoolSettings>> = {
  POOL_MAX: 'max',
  POOL_IDLE_TIMEOUT_MS: 'idleTimeoutMillis',
  POOL_CONNECT_TIMEOUT_MS: 'connectionTimeoutMillis',
  STATEMENT_TIMEOUT_MS: 'statementTimeoutMillis',
  NAMED_STATEMENTS: 'namedStatements',
};

/** The variable of each retention setting. */
const RETENTION_ENV: Readonly<Record<keyof RetentionSettings, string>> = {
  completedJobsDays: 'FIVETIER_RETENTION_COMPLETED_JOBS_DAYS',
  deadJobsDays: 'FIVETIER_RETENTION_DEAD_JOBS_DAYS',
  jobLogsDays: 'FIVETIER_RETENTION_JOB_LOGS_DAYS',
  adminEventsDays: 'FIVETIER_RETENTION_ADMIN_EVENTS_DAYS',
  olapMonths: 'FIVETIER_RETENTION_OLAP_MONTHS',
  auditLogMonths: 'FIVETIER_RETENTION_AUDIT_LOG_MONTHS',
  idempotencyKeysDays: 'FIVETIER_RETENTION_IDEMPOTENCY_KEYS_DAYS',
};

/** Every environment variable fivetier reads, for the unknown-variable check and the docs. */
export const KNOWN_ENV = Object.freeze([
  ...TIER_NAMES.map((t) => `${t.toUpperCase()}_DB_URL`),
  ...TIER_NAMES.flatMap((t) => Object.keys(POOL_ENV_SUFFIXES).map((s) => `${t.toUpperCase()}_${s}`)),
  'QUEUE_REDIS_URL',
  'FIVETIER_EMBEDDED_TIERS',
  'FIVETIER_ROLE_PASSWORD',
  'FIVETIER_SYSTEM_POOL_MAX',
  'FIVETIER_TIER_TIMEOUT_MS',
  'FIVETIER_DATA_DIR',
  'FIVETIER_EMBEDDED_PORT',
  'FIVETIER_HTTP_HOST',
  ...TRACKING_ENV,
  'SMTP_URL',
  'FIVETIER_MAIL_DIR',
  'FIVETIER_MAIL_FROM',
  'FIVETIER_HTTP_PORT',
  ...Object.values(RETENTION_ENV),
  'FIVETIER_OPERATOR_KEY',
  'FIVETIER_API_RATE_LIMIT',
  ...ALERT_ENV,
]);

/**
 * Variables that look like ours: `FIVETIER_*`, and `<TIER>_DB_*`, `<TIER>_POOL_*`,
 * `<TIER>_STATEMENT_*`, `<TIER>_REDIS_*`. A typo in one of them must stop start-up rather than
 * be silently ignored; other variables of the environment are none of our business.
 */
const OURS = new RegExp(
  `^(FIVETIER_|(${TIER_NAMES.map((t) => t.toUpperCase()).join('|')})_(DB|POOL|STATEMENT|REDIS)_)`,
);

/** A bad setting. The message never carries a password: any URL in it is redacted. */
function invalid(name: string, why: string): FivetierError {
  return new FivetierError('FT_ERR_CONFIG_INVALID', [name, redactUrls(why)]);
}

function parseUrl(name: string, value: string | undefined, protocols: readonly string[]): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    const shown = redactUrls(value);
    // why: without a scheme the redaction cannot tell a password from a host; show nothing then
    throw invalid(name, shown === value && value.includes('@') ? 'not a URL (not shown: it may hold a password)' : `not a URL: ${JSON.stringify(shown)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw invalid(name, `expected a ${protocols.join(' or ')} URL, got ${url.protocol}`);
  }
  if (protocols.includes('postgresql:') && url.pathname.replace(/^\//, '') === '') {
    throw invalid(name, 'the URL names no database');
  }
  return value;
}

function parseInteger(name: string, value: string | number | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const PG_PROTOCOLS = ['postgresql:', 'postgres:'] as const;
const SMTP_PROTOCOLS = ['smtp:', 'smtps:'] as const;

/**
 * Build the configuration from the environment and optional overrides (overrides win), check
 * every value, and freeze it. Throws a FivetierError naming the variable on the first bad value
 * or on an unknown fivetier variable.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): FivetierConfig {
  for (const key of Object.keys(env)) {
    if (OURS.test(key) && !KNOWN_ENV.includes(key)) {
      throw new FivetierError('FT_ERR_CONFIG_UNKNOWN', [key, 'see docs/configuration.md']);
    }
  }

  const urls = {} as Record<TierName, string | undefined>;
  const pools = {} as Record<TierName, PoolSettings>;
  for (const name of TIER_NAMES) {
    const prefix = name.toUpperCase();
    const override = overrides.tiers?.[name];
    urls[name] =
      override && 'url' in override
        ? parseUrl(`tiers.${name}.url`, override.url, PG_PROTOCOLS)
        : parseUrl(`${prefix}_DB_URL`, env[`${prefix}_DB_URL`], PG_PROTOCOLS);
    const pool: PoolSettings = { ...POOL_DEFAULTS[name] };
    for (const [suffix, field] of Object.entries(POOL_ENV_SUFFIXES)) {
      const [min, max] = field === 'max' ? [1, 10_000_000] : field === 'namedStatements' ? [0, 1] : [0, 10_000_000];
      const fromEnv = parseInteger(`${prefix}_${suffix}`, env[`${prefix}_${suffix}`], min, max);
      if (fromEnv !== undefined) pool[field] = fromEnv;
      const fromOverride = parseInteger(`tiers.${name}.pool.${field}`, override?.pool?.[field], min, max);
      if (fromOverride !== undefined) pool[field] = fromOverride;
    }
    pools[name] = pool;
  }
  const tiers = {} as Record<TierName, TierConfig>;
  for (const [name, resolved] of Object.entries(resolveTierUrls(urls, embeddedList(env, overrides))) as [TierName, ResolvedUrl][]) {
    const tier: TierConfig = { name, ...resolved, pool: Object.freeze(pools[name]) };
    tiers[name] = Object.freeze(withSafeView(tier, () => ({ ...tier, url: redactUrl(tier.url) })));
  }

  const redisUrl =
    'redisUrl' in overrides
      ? parseUrl('redisUrl', overrides.redisUrl, ['redis:', 'rediss:'])
      : parseUrl('QUEUE_REDIS_URL', env.QUEUE_REDIS_URL, ['redis:', 'rediss:']);

  // An override wins over the variable, the variable over the default.
  const integer = (key: string, override: number | undefined, variable: string, min: number, max: number, fallback: number) =>
    parseInteger(key, override, min, max) ?? parseInteger(variable, env[variable], min, max) ?? fallback;

  const config: FivetierConfig = {
    tiers: Object.freeze(tiers),
    redisUrl,
    rolePassword: 'rolePassword' in overrides ? overrides.rolePassword : env.FIVETIER_ROLE_PASSWORD || undefined,
    systemPoolMax: integer('systemPoolMax', overrides.systemPoolMax, 'FIVETIER_SYSTEM_POOL_MAX', 1, 1000, SYSTEM_POOL_MAX_DEFAULT),
    tierTimeoutMs: integer('tierTimeoutMs', overrides.tierTimeoutMs, 'FIVETIER_TIER_TIMEOUT_MS', 300, 600_000, TIER_TIMEOUT_MS_DEFAULT),
    embedded: Object.freeze({
      dataDir: overrides.embedded?.dataDir ?? (env.FIVETIER_DATA_DIR || EMBEDDED_DATA_DIR_DEFAULT),
      dataDirIsDefault: overrides.embedded?.dataDir === undefined && !env.FIVETIER_DATA_DIR,
      port: integer('embedded.port', overrides.embedded?.port, 'FIVETIER_EMBEDDED_PORT', 1, 65535, EMBEDDED_PORT_DEFAULT),
    }),
    tracking: trackingConfig(env, overrides.tracking),
    mail: Object.freeze({
      smtpUrl: overrides.mail && 'smtpUrl' in overrides.mail ? parseUrl('mail.smtpUrl', overrides.mail.smtpUrl, SMTP_PROTOCOLS) : parseUrl('SMTP_URL', env.SMTP_URL, SMTP_PROTOCOLS),
      dir: overrides.mail?.dir ?? (env.FIVETIER_MAIL_DIR || MAIL_DIR_DEFAULT),
      from: overrides.mail?.from ?? (env.FIVETIER_MAIL_FROM || MAIL_FROM_DEFAULT),
    }),
    http: Object.freeze({
      host: overrides.http?.host ?? (env.FIVETIER_HTTP_HOST || HTTP_HOST_DEFAULT),
      port: integer('http.port', overrides.http?.port, 'FIVETIER_HTTP_PORT', 0, 65535, HTTP_PORT_DEFAULT),
    }),
    // why: at least one day (or month); nothing is kept for less than that by a setting's typo
    retention: Object.freeze(
      Object.fromEntries(
        (Object.keys(RETENTION_ENV) as Array<keyof RetentionSettings>).map((k) => [k, integer(`retention.${k}`, overrides.retention?.[k], RETENTION_ENV[k], 1, 100_000, RETENTION_DEFAULTS[k])]),
      ) as unknown as RetentionSettings,
    ),
    api: Object.freeze({
      operatorKey: overrides.api && 'operatorKey' in overrides.api ? overrides.api.operatorKey : env.FIVETIER_OPERATOR_KEY || undefined,
      rateLimitPerMinute: integer('api.rateLimitPerMinute', overrides.api?.rateLimitPerMinute, 'FIVETIER_API_RATE_LIMIT', 1, 10_000_000, API_RATE_LIMIT_PER_MINUTE_DEFAULT),
    }),
    alerts: loadAlertSettings(env, overrides.alerts),
  };
  // why: the config travels inside the platform object; printing either must not print secrets
  withSafeView(config, () => ({ ...config, redisUrl: redactUrl(config.redisUrl), rolePassword: config.rolePassword === undefined ? undefined : '***', api: { ...config.api, operatorKey: config.api.operatorKey === undefined ? undefined : '***' } }));
  return Object.freeze(config);
}

type ResolvedUrl = Pick<TierConfig, 'url' | 'urlFrom'>;

/** `FIVETIER_EMBEDDED_TIERS` (or the override): tier names, comma-separated. */
function embeddedList(env: NodeJS.ProcessEnv, overrides: ConfigOverrides): Set<TierName> {
  const [name, names] =
    overrides.embeddedTiers !== undefined
      ? ['embeddedTiers', [...overrides.embeddedTiers]]
      : ['FIVETIER_EMBEDDED_TIERS', (env.FIVETIER_EMBEDDED_TIERS ?? '').split(',').map((t) => t.trim()).filter(Boolean)];
  for (const t of names) {
    if (!(TIER_NAMES as readonly string[]).includes(t)) throw invalid(name, `${JSON.stringify(t)} is not a tier (tiers: ${TIER_NAMES.join(', ')})`);
  }
  return new Set(names as TierName[]);
}

/**
 * Which tiers run where. With no tier URL at all, every tier runs on the embedded server (the
 * zero-setting first run). Once any tier has a URL, nothing goes embedded silently: the queue
 * store without `QUEUE_DB_URL` gets its own database on the OLTP tier's server (the tier docs
 * allow sharing that server; the migrator creates the database), a tier listed in
 * `FIVETIER_EMBEDDED_TIERS` runs embedded, and any other tier without a URL is an error that
 * names its variable.
 */
function resolveTierUrls(urls: Record<TierName, string | undefined>, embedded: Set<TierName>): Record<TierName, ResolvedUrl> {
  const resolved = {} as Record<TierName, ResolvedUrl>;
  const anyUrl = TIER_NAMES.some((t) => urls[t] !== undefined);
  for (const t of TIER_NAMES) {
    const variable = `${t.toUpperCase()}_DB_URL`;
    const url = urls[t];
    if (url !== undefined && embedded.has(t)) {
      throw invalid('FIVETIER_EMBEDDED_TIERS', `lists ${t}, which has a URL (${variable}); a tier runs either on its URL or embedded`);
    }
    if (url !== undefined) resolved[t] = { url, urlFrom: 'setting' };
    else if (!anyUrl || embedded.has(t)) resolved[t] = { url: undefined, urlFrom: 'embedded' };
    else if (t === 'queue' && resolved.oltp.url !== undefined) resolved[t] = { url: queueUrlOnOltpServer(resolved.oltp.url), urlFrom: 'oltp-server' };
    else if (t === 'queue') resolved[t] = { url: undefined, urlFrom: 'embedded' }; // OLTP is embedded on purpose: so is its server
    else {
      throw invalid(
        variable,
        `not set, while other tiers have URLs; set it, or add ${t} to FIVETIER_EMBEDDED_TIERS to run it on the embedded PostgreSQL (see docs/configuration.md)`,
      );
    }
  }
  return resolved;
}

/** The OLTP server's URL with the queue store's own database (`penguinmails_queue`). */
function queueUrlOnOltpServer(oltpUrl: string): string {
  const url = new URL(oltpUrl);
  url.pathname = `/${EMBEDDED_DATABASE_NAMES.queue}`;
  return url.toString();
}

/** The tiers that have no URL and so run on the embedded default. */
export function embeddedTiers(config: FivetierConfig): TierName[] {
  return TIER_NAMES.filter((t) => config.tiers[t].url === undefined);
}
