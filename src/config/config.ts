import { FivetierError } from '../errors/codes.js';
import { TIER_NAMES, type TierName } from '../types.js';
import {
  EMBEDDED_DATA_DIR_DEFAULT,
  EMBEDDED_PORT_DEFAULT,
  HTTP_HOST_DEFAULT,
  HTTP_PORT_DEFAULT,
  POOL_DEFAULTS,
  SYSTEM_POOL_MAX_DEFAULT,
  type PoolSettings,
} from './defaults.js';

/** One tier's connection settings. */
export interface TierConfig {
  readonly name: TierName;
  /**
   * Admin connection URL (`OLTP_DB_URL` …): the migrator connects with it and creates the roles.
   * Runtime connections use the same host and database as the role `fivetier_app` (and
   * `fivetier_worker`, `fivetier_maintenance`). Undefined: the tier runs on the embedded default.
   */
  readonly url: string | undefined;
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
  readonly embedded: { readonly dataDir: string; readonly port: number };
  readonly http: { readonly host: string; readonly port: number };
}

/** Settings a library caller may pass instead of (or on top of) the environment. */
export interface ConfigOverrides {
  tiers?: Partial<Record<TierName, { url?: string | undefined; pool?: Partial<PoolSettings> }>>;
  redisUrl?: string | undefined;
  rolePassword?: string | undefined;
  systemPoolMax?: number;
  embedded?: Partial<FivetierConfig['embedded']>;
  http?: Partial<FivetierConfig['http']>;
}

const POOL_ENV_SUFFIXES: Readonly<Record<string, keyof PoolSettings>> = {
  POOL_MAX: 'max',
  POOL_IDLE_TIMEOUT_MS: 'idleTimeoutMillis',
  POOL_CONNECT_TIMEOUT_MS: 'connectionTimeoutMillis',
  STATEMENT_TIMEOUT_MS: 'statementTimeoutMillis',
};

/** Every environment variable fivetier reads, for the unknown-variable check and the docs. */
export const KNOWN_ENV = Object.freeze([
  ...TIER_NAMES.map((t) => `${t.toUpperCase()}_DB_URL`),
  ...TIER_NAMES.flatMap((t) => Object.keys(POOL_ENV_SUFFIXES).map((s) => `${t.toUpperCase()}_${s}`)),
  'QUEUE_REDIS_URL',
  'FIVETIER_ROLE_PASSWORD',
  'FIVETIER_SYSTEM_POOL_MAX',
  'FIVETIER_DATA_DIR',
  'FIVETIER_EMBEDDED_PORT',
  'FIVETIER_HTTP_HOST',
  'FIVETIER_HTTP_PORT',
]);

/**
 * Variables that look like ours: `FIVETIER_*`, and `<TIER>_DB_*`, `<TIER>_POOL_*`,
 * `<TIER>_STATEMENT_*`, `<TIER>_REDIS_*`. A typo in one of them must stop start-up rather than
 * be silently ignored; other variables of the environment are none of our business.
 */
const OURS = new RegExp(
  `^(FIVETIER_|(${TIER_NAMES.map((t) => t.toUpperCase()).join('|')})_(DB|POOL|STATEMENT|REDIS)_)`,
);

function invalid(name: string, why: string): FivetierError {
  return new FivetierError('FT_ERR_CONFIG_INVALID', [name, why]);
}

function parseUrl(name: string, value: string | undefined, protocols: readonly string[]): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(name, `not a URL: ${JSON.stringify(value)}`);
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

  const tiers = {} as Record<TierName, TierConfig>;
  for (const name of TIER_NAMES) {
    const prefix = name.toUpperCase();
    const override = overrides.tiers?.[name];
    const url =
      override && 'url' in override
        ? parseUrl(`tiers.${name}.url`, override.url, PG_PROTOCOLS)
        : parseUrl(`${prefix}_DB_URL`, env[`${prefix}_DB_URL`], PG_PROTOCOLS);
    const pool: PoolSettings = { ...POOL_DEFAULTS[name] };
    for (const [suffix, field] of Object.entries(POOL_ENV_SUFFIXES)) {
      const fromEnv = parseInteger(`${prefix}_${suffix}`, env[`${prefix}_${suffix}`], field === 'max' ? 1 : 0, 10_000_000);
      if (fromEnv !== undefined) pool[field] = fromEnv;
      const fromOverride = parseInteger(`tiers.${name}.pool.${field}`, override?.pool?.[field], field === 'max' ? 1 : 0, 10_000_000);
      if (fromOverride !== undefined) pool[field] = fromOverride;
    }
    tiers[name] = Object.freeze({ name, url, pool: Object.freeze(pool) });
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
    embedded: Object.freeze({
      dataDir: overrides.embedded?.dataDir ?? (env.FIVETIER_DATA_DIR || EMBEDDED_DATA_DIR_DEFAULT),
      port: integer('embedded.port', overrides.embedded?.port, 'FIVETIER_EMBEDDED_PORT', 1, 65535, EMBEDDED_PORT_DEFAULT),
    }),
    http: Object.freeze({
      host: overrides.http?.host ?? (env.FIVETIER_HTTP_HOST || HTTP_HOST_DEFAULT),
      port: integer('http.port', overrides.http?.port, 'FIVETIER_HTTP_PORT', 0, 65535, HTTP_PORT_DEFAULT),
    }),
  };
  return Object.freeze(config);
}

/** The tiers that have no URL and so run on the embedded default. */
export function embeddedTiers(config: FivetierConfig): TierName[] {
  return TIER_NAMES.filter((t) => config.tiers[t].url === undefined);
}
