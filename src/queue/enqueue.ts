import { randomUUID } from 'node:crypto';
import { FivetierError } from '../errors/codes.js';
import { routeOf } from '../jobs/built-in.js';
import type { TierClient, TxClient } from '../tiers/tier-client.js';
import { jobInsert } from '../tiers/queue/queries/jobs.js';
import type { JobRow } from './job-states.js';
import { assertJobPayload } from './payload.js';

/** What to enqueue. */
export interface JobSpec {
  /** Queue name (a row of `job_queues`); default `default`. */
  queue?: string;
  /** Job type, the handler key (`email.send`). */
  type: string;
  /** Ids and small config only: at most JOB_PAYLOAD_MAX_BYTES (64 KiB) of JSON. Default `{}`. */
  payload?: unknown;
  /** 1..1000, lower runs sooner; default the queue's `default_priority`. */
  priority?: number;
  /** Not before this time; default now. */
  runAt?: Date;
  /** Attempts before the dead letter; default 5 for priority <= 50, else 3. */
  maxAttempts?: number;
  /** Job id (idempotency key); default a new uuid. */
  id?: string;
}

function validate(spec: JobSpec): void {
  if (!spec.type || spec.type.length > 100) throw new FivetierError('FT_ERR_INPUT_INVALID', ['job type must be 1..100 characters']);
  if (spec.priority !== undefined && !(Number.isInteger(spec.priority) && spec.priority >= 1 && spec.priority <= 1000)) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`priority must be an integer in 1..1000, got ${spec.priority}`]);
  }
  if (spec.maxAttempts !== undefined && !(Number.isInteger(spec.maxAttempts) && spec.maxAttempts >= 1)) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`maxAttempts must be an integer >= 1, got ${spec.maxAttempts}`]);
  }
  assertJobPayload(spec.payload ?? {}, 'enqueue');
}

/**
 * Enqueue a job inside the caller's transaction on the queue tier (`client` from `withTenant` or
 * `withWorker`): it exists when that transaction commits and not otherwise. Returns the row, or
 * undefined when a job with that id already exists (idempotent). Throws FT_ERR_INPUT_INVALID for a
 * bad spec (a payload that is not JSON or over JOB_PAYLOAD_MAX_BYTES included), and what `pg`
 * throws (unknown queue: foreign key violation).
 */
export async function enqueueWith(client: TxClient, tenantId: string, spec: JobSpec): Promise<JobRow | undefined> {
  validate(spec);
  const route = routeOf(spec.type);
  return jobInsert(client, {
    tenantId,
    id: spec.id ?? randomUUID(),
    queue: spec.queue ?? route.queue,
    type: spec.type,
    priority: spec.priority ?? null,
    payload: spec.payload ?? {},
    runAt: spec.runAt ?? null,
    maxAttempts: spec.maxAttempts ?? route.maxAttempts ?? null,
  });
}

/**
 * Enqueue a job for a tenant in its own transaction (RLS as that tenant).
 * Throws like `enqueueWith`, and FT_ERR_TENANT_INVALID / FT_ERR_TIER_UNAVAILABLE.
 *
 * @example
 * await enqueue(ft.queue, tenantId, { queue: 'email-sending', type: 'email.send', payload: { emailId } });
 */
export function enqueue(queue: TierClient, tenantId: string, spec: JobSpec): Promise<JobRow | undefined> {
  return queue.withTenant(tenantId, (c) => enqueueWith(c, tenantId, spec));
}
