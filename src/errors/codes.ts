/**
 * The one registry of fivetier's errors. Every error the library, the API or the CLI raises on
 * purpose has a code here, a message template, and the HTTP status the API answers with.
 * `docs/errors.md` lists the same codes; a test keeps the two in sync.
 */

export const errorCodes = {
  // Configuration: raised once, at start-up, before anything connects.
  FT_ERR_CONFIG_INVALID: { status: 500, message: '%s: %s' },
  FT_ERR_CONFIG_UNKNOWN: { status: 500, message: '%s is not a fivetier setting (known: %s)' },

  // Tenancy
  FT_ERR_TENANT_INVALID: { status: 400, message: 'tenant id must be a uuid, got %s' },
  FT_ERR_TENANT_MISMATCH: { status: 400, message: 'rows of two tenants in one transaction: %s and %s' },

  // Tiers
  FT_ERR_TIER_UNAVAILABLE: { status: 503, message: 'the %s tier is unavailable: %s' },
  FT_ERR_TX_ABORTED: { status: 500, message: 'the %s transaction was rolled back: %s' },

  // Migrations
  FT_ERR_MIGRATION_CHANGED: { status: 500, message: '%s: migration %s was changed after it was applied (checksum %s in the database, %s on disk); write a new migration instead' },
  FT_ERR_MIGRATION_DB_NEWER: { status: 500, message: '%s: the database has migration %s that this version of fivetier does not know; upgrade fivetier before running it against this database' },
  FT_ERR_MIGRATION_FAILED: { status: 500, message: '%s: migration %s failed: %s' },

  // Embedded default
  FT_ERR_EMBEDDED_START: { status: 500, message: 'the embedded PostgreSQL could not start: %s' },

  // Cross-tier writes (DatabaseTransaction, outbox relay, sweeper, consistency checker)
  FT_ERR_CROSS_TABLE_UNKNOWN: { status: 400, message: '%s is not a tenant table of the %s tier' },
  FT_ERR_CROSS_COLUMN_UNKNOWN: { status: 400, message: 'table %s has no column %s' },
  FT_ERR_CROSS_TENANT_UNKNOWN: { status: 400, message: 'the cross-tier transaction has no tenant: pass tenantId or a row with tenant_id before %s' },
  FT_ERR_CROSS_TX_CLOSED: { status: 500, message: 'the cross-tier transaction is already %s' },
  FT_ERR_CROSS_COMMIT_IN_DOUBT: { status: 503, message: 'the OLTP commit outcome is unknown (%s); the content is left to the orphan sweeper' },
  FT_ERR_CROSS_NO_DEFAULT: { status: 500, message: 'no default Fivetier for %s: call setDefaultFivetier(ft) first' },

  // Notifications (in-app notifications, admin system events)
  FT_ERR_ADMIN_EVENT_NOT_FOUND: { status: 404, message: 'no admin event %s in tenant %s' },
  FT_ERR_ADMIN_EVENT_RESOLVED: { status: 409, message: 'admin event %s was resolved already (at %s by %s)' },

  // Queue (jobs, dispatch, workers, operator actions)
  FT_ERR_QUEUE_JOB_NOT_FOUND: { status: 404, message: 'no job with id %s' },
  FT_ERR_QUEUE_JOB_STATE: { status: 409, message: 'job %s is %s; this action needs it %s' },
  FT_ERR_QUEUE_JOB_AMBIGUOUS: { status: 409, message: 'job id %s is used by jobs of %s tenants (%s); name the tenant (--tenant <uuid>, or the tenantId argument) to act on one of them' },
  FT_ERR_QUEUE_UNKNOWN: { status: 404, message: 'no queue named %s' },
  FT_ERR_QUEUE_HANDLER_EXISTS: { status: 500, message: 'a handler for job type %s is registered already' },
  FT_ERR_QUEUE_WORKER_STARTED: { status: 500, message: 'the worker is %s; %s' },

  // Campaigns
  FT_ERR_CAMPAIGN_NOT_FOUND: { status: 404, message: 'no campaign with id %s' },
  FT_ERR_CAMPAIGN_STATE: { status: 409, message: 'campaign %s is %s; this action needs it %s' },

  // Tracking links and delivery-event webhooks
  FT_ERR_TRACKING_TOKEN_INVALID: { status: 404, message: 'this %s link is not valid (altered, or not made by this platform)' },
  FT_ERR_WEBHOOK_SIGNATURE: { status: 401, message: 'webhook signature %s: sign "<unix seconds>.<raw body>" with HMAC-SHA256 and send Fivetier-Signature: t=<seconds>,v1=<hex>' },

  // Content tier
  FT_ERR_CONTENT_NOT_FOUND: { status: 404, message: 'no content stored under key %s in tenant %s' },
  FT_ERR_ATTACHMENT_TOO_LARGE: { status: 413, message: 'attachment %s is %s bytes; the limit is %s bytes' },

  // HTTP API (authentication, limits, idempotency)
  FT_ERR_API_KEY_MISSING: { status: 401, message: 'an API key is required: send the header Authorization: Bearer <key>' },
  FT_ERR_API_KEY_INVALID: { status: 401, message: 'the API key is not valid (unknown, malformed or revoked)' },
  FT_ERR_API_FORBIDDEN: { status: 403, message: '%s' },
  FT_ERR_API_NOT_FOUND: { status: 404, message: 'no %s %s' },
  FT_ERR_API_TOO_LARGE: { status: 413, message: '%s' },
  FT_ERR_API_RATE_LIMITED: { status: 429, message: 'more than %s requests per %s for this key; retry in %s s' },
  FT_ERR_API_CONFLICT: { status: 409, message: '%s' },
  FT_ERR_API_IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'Idempotency-Key %s was used for a different request' },

  // Operator CLI
  FT_ERR_DEMO_TIMEOUT: { status: 504, message: 'demo: %s did not finish within %s s; is a worker stuck? (try --timeout)' },

  // Input and the API
  FT_ERR_INPUT_INVALID: { status: 400, message: '%s' },
  FT_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Fill `%s` placeholders in order. */
function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++]));
}

/**
 * The base of every error fivetier raises on purpose. `code` is stable and documented,
 * `status` is the HTTP status the API maps it to, `cause` keeps the underlying error.
 */
export class FivetierError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    super(format(errorCodes[code].message, args), options);
    this.name = 'FivetierError';
    this.code = code;
    this.status = errorCodes[code].status;
  }
}

/** True when `err` is a FivetierError with the given code. Never throws. */
export function isFivetierError(err: unknown, code?: ErrorCode): err is FivetierError {
  return err instanceof FivetierError && (code === undefined || err.code === code);
}
