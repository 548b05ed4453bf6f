/**
 * The alert settings of `fivetier start`: who is notified of a firing alert
 * (`FIVETIER_ALERT_OPERATORS`) and the thresholds of the rules (`FIVETIER_ALERT_<NAME>`). Only
 * what is set is kept: the defaults stay with the rules, in src/ops/alerts.ts.
 */
import { FivetierError } from '../errors/codes.js';
import type { AlertThresholds } from '../ops/alerts.js';

/** What the alert evaluation takes from the configuration. */
export interface AlertSettings {
  /** Operators' user ids (platform tenant), each notified once per firing alert; empty: nobody. */
  readonly operatorUserIds: readonly string[];
  /** The thresholds that were set; the others keep their defaults. */
  readonly thresholds: Readonly<Partial<AlertThresholds>>;
  /** How often the alerts are evaluated, in ms; undefined: the default. */
  readonly intervalMs: number | undefined;
}

export type AlertOverrides = Partial<{ operatorUserIds: readonly string[]; thresholds: Partial<AlertThresholds>; intervalMs: number }>;

interface Bound {
  variable: string;
  /** Fractions are any number in the range; the others whole numbers. */
  kind: 'fraction' | 'integer';
  min: number;
  max: number;
  /** Whether `min` itself is refused (a ratio of 0 would fire on any single failure: allowed; a pool share of 0 is not). */
  minExclusive?: boolean;
}

// why: `satisfies` makes a new threshold in src/ops/alerts.ts fail the build until it has a variable
export const ALERT_THRESHOLD_ENV = {
  poolUtilisation: { variable: 'FIVETIER_ALERT_POOL_UTILISATION', kind: 'fraction', min: 0, max: 1, minExclusive: true },
  jobFailureRatio: { variable: 'FIVETIER_ALERT_JOB_FAILURE_RATIO', kind: 'fraction', min: 0, max: 1 },
  jobFailuresMin: { variable: 'FIVETIER_ALERT_JOB_FAILURES_MIN', kind: 'integer', min: 1, max: 1_000_000_000 },
  queueDepth: { variable: 'FIVETIER_ALERT_QUEUE_DEPTH', kind: 'integer', min: 0, max: 1_000_000_000 },
  outboxAgeSeconds: { variable: 'FIVETIER_ALERT_OUTBOX_AGE_SECONDS', kind: 'integer', min: 1, max: 31_536_000 },
  deadLetterGrowth: { variable: 'FIVETIER_ALERT_DEAD_LETTER_GROWTH', kind: 'integer', min: 1, max: 1_000_000_000 },
  deadLetterWindowSeconds: { variable: 'FIVETIER_ALERT_DEAD_LETTER_WINDOW_SECONDS', kind: 'integer', min: 1, max: 604_800 },
} as const satisfies Record<keyof AlertThresholds, Bound>;

const INTERVAL: Bound = { variable: 'FIVETIER_ALERT_INTERVAL_MS', kind: 'integer', min: 1_000, max: 3_600_000 };

/** Every alert variable, for the configuration's list of known variables. */
export const ALERT_ENV = Object.freeze(['FIVETIER_ALERT_OPERATORS', INTERVAL.variable, ...Object.values(ALERT_THRESHOLD_ENV).map((b) => b.variable)]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalid(name: string, why: string): FivetierError {
  return new FivetierError('FT_ERR_CONFIG_INVALID', [name, why]);
}

function parseBounded(name: string, value: string | number | undefined, b: Bound): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : /^\s*$/.test(value) ? NaN : Number(value);
  const inRange = Number.isFinite(n) && (b.minExclusive ? n > b.min : n >= b.min) && n <= b.max;
  if (b.kind === 'integer' && (!Number.isInteger(n) || !inRange)) throw invalid(name, `must be a whole number from ${b.min} to ${b.max}, got ${JSON.stringify(value)}`);
  if (!inRange) throw invalid(name, `must be a number ${b.minExclusive ? 'over' : 'from'} ${b.min} ${b.minExclusive ? 'up ' : ''}to ${b.max} (a share: 0.8 is 80%), got ${JSON.stringify(value)}`);
  return n;
}

function parseOperators(name: string, ids: readonly string[]): string[] {
  for (const id of ids) if (!UUID.test(id)) throw invalid(name, `${JSON.stringify(id)} is not a user id (a uuid)`);
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/** The alert settings from the environment and the overrides (an override wins, field by field). */
export function loadAlertSettings(env: NodeJS.ProcessEnv, overrides: AlertOverrides = {}): AlertSettings {
  const operatorUserIds =
    overrides.operatorUserIds !== undefined
      ? parseOperators('alerts.operatorUserIds', overrides.operatorUserIds)
      : parseOperators('FIVETIER_ALERT_OPERATORS', (env.FIVETIER_ALERT_OPERATORS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const thresholds: Partial<AlertThresholds> = {};
  for (const [field, bound] of Object.entries(ALERT_THRESHOLD_ENV) as Array<[keyof AlertThresholds, Bound]>) {
    const value = parseBounded(`alerts.thresholds.${field}`, overrides.thresholds?.[field], bound) ?? parseBounded(bound.variable, env[bound.variable], bound);
    if (value !== undefined) thresholds[field] = value;
  }
  const intervalMs = parseBounded('alerts.intervalMs', overrides.intervalMs, INTERVAL) ?? parseBounded(INTERVAL.variable, env[INTERVAL.variable], INTERVAL);
  return Object.freeze({ operatorUserIds: Object.freeze(operatorUserIds), thresholds: Object.freeze(thresholds), intervalMs });
}
