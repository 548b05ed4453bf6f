import type { TxClient } from '../../tier-client.js';

/** An outbox row: a queue insert that commits with the OLTP rows of its transaction. */
export interface OutboxRow {
  tenant_id: string;
  id: string;
  queue_name: string;
  job_type: string;
  payload: unknown;
  priority: number;
  run_at: Date;
  created_at: Date;
}

/**
 * Write one outbox row in the caller's OLTP transaction (tenant set). Returns its id, which
 * becomes the job id. Run by `DatabaseTransaction.insertQueue`. Throws on SQL errors.
 */
export async function outboxInsert(
  c: TxClient,
  row: { tenantId: string; queueName: string; jobType: string; payload: unknown; priority: number; runAt: Date },
): Promise<{ id: string }> {
  const { rows } = await c.query<{ id: string }>({
    name: 'outboxInsert',
    text: `insert into public.outbox (tenant_id, queue_name, job_type, payload, priority, run_at)
           values ($1, $2, $3, $4, $5, $6) returning id`,
    values: [row.tenantId, row.queueName, row.jobType, JSON.stringify(row.payload ?? {}), row.priority, row.runAt],
  });
  return rows[0]!;
}

/** A claimed outbox row, with the size of its payload's JSON text. */
export interface ClaimedOutboxRow extends OutboxRow {
  payload_bytes: number;
  /** Over the row cap: `payload` is null (never fetched) and the row must be set aside. */
  oversized: boolean;
}

/**
 * Lock the oldest outbox rows that no other relay holds (FOR UPDATE SKIP LOCKED, so several
 * relays can run at once), at most `limit`, and return those whose payloads fit in `maxBytes`
 * together (oldest first; with `maxRowBytes` <= `maxBytes` that is at least one), plus every
 * locked row whose payload alone is over `maxRowBytes`, flagged `oversized` and without its
 * payload. Locked rows left out stay
 * for the next batch. Sizes are of the payload's JSON text as PostgreSQL prints it.
 * why: one batch of large payloads overflowed the relay's memory (RangeError building the
 * batch), and every pass claimed the same rows again; no row may be fetched that cannot be
 * relayed. Run by the outbox relay as fivetier_worker. Throws on SQL errors.
 */
export async function outboxClaimOldest(c: TxClient, limit: number, maxBytes: number, maxRowBytes: number): Promise<{ rows: ClaimedOutboxRow[]; locked: number }> {
  const { rows } = await c.query<ClaimedOutboxRow & { payload_bytes: string; locked: string }>({
    name: 'outboxClaimOldest',
    // why: the payload travels in the CTE (a toasted value stays a pointer there) and the window
    // gives the count, so no second look-up of each row; an oversized payload is never sent
    text: `with claimed as (
             select tenant_id, id, queue_name, job_type, payload, priority, run_at, created_at,
                    octet_length(payload::text)::bigint as payload_bytes
               from public.outbox order by created_at limit $1 for update skip locked
           ), sized as (
             select k.*, k.payload_bytes > $3 as oversized,
                    sum(case when k.payload_bytes > $3 then 0 else k.payload_bytes end)
                      over (order by k.created_at, k.tenant_id, k.id) as running_bytes,
                    row_number() over (order by k.created_at, k.tenant_id, k.id) as n,
                    count(*) over () as locked
               from claimed k
           )
           select s.tenant_id, s.id, s.queue_name, s.job_type, case when s.oversized then null else s.payload end as payload,
                  s.priority, s.run_at, s.created_at, s.payload_bytes, s.oversized, s.locked
             from sized s
            where s.oversized or s.running_bytes <= $2
            order by s.n`,
    values: [limit, maxBytes, maxRowBytes],
  });
  const locked = Number(rows[0]?.locked ?? 0);
  return { rows: rows.map(({ locked: _, ...r }) => ({ ...r, payload_bytes: Number(r.payload_bytes) })), locked };
}

/**
 * Move outbox rows the relay cannot relay into `outbox_rejected`, whole, each with its reason,
 * in the caller's transaction. Returns how many moved. Run by the outbox relay. Throws on SQL errors.
 */
export async function outboxSetAside(c: TxClient, rows: ReadonlyArray<{ tenant_id: string; id: string; payload_bytes: number; reason: string }>): Promise<number> {
  const res = await c.query({
    name: 'outboxSetAside',
    text: `with moved as (
             delete from public.outbox o using unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[]) as k(tenant_id, id, payload_bytes, reason)
              where o.tenant_id = k.tenant_id and o.id = k.id
             returning o.*, k.payload_bytes, k.reason
           )
           insert into public.outbox_rejected (tenant_id, id, queue_name, job_type, payload, priority, run_at, created_at, payload_bytes, reason)
           select tenant_id, id, queue_name, job_type, payload, priority, run_at, created_at, payload_bytes, reason from moved
           -- why: an id set aside before and written to the outbox again: keep the latest, never lose the row
           on conflict (tenant_id, id) do update set queue_name = excluded.queue_name, job_type = excluded.job_type,
             payload = excluded.payload, priority = excluded.priority, run_at = excluded.run_at, created_at = excluded.created_at,
             payload_bytes = excluded.payload_bytes, reason = excluded.reason, rejected_at = now()`,
    values: [rows.map((r) => r.tenant_id), rows.map((r) => r.id), rows.map((r) => r.payload_bytes), rows.map((r) => r.reason)],
  });
  return res.rowCount ?? 0;
}

/** Delete relayed rows by key. Run by the outbox relay once the queue tier has the jobs. Throws on SQL errors. */
export async function outboxDeleteMany(c: TxClient, tenantIds: string[], ids: string[]): Promise<number> {
  const res = await c.query({
    name: 'outboxDeleteMany',
    text: `delete from public.outbox o using unnest($1::uuid[], $2::uuid[]) as k(tenant_id, id)
            where o.tenant_id = k.tenant_id and o.id = k.id`,
    values: [tenantIds, ids],
  });
  return res.rowCount ?? 0;
}

/** Rows waiting and the age of the oldest, in seconds. Run by the relay for its metrics. Throws on SQL errors. */
export async function outboxBacklog(c: TxClient): Promise<{ count: number; oldestAgeSeconds: number }> {
  const { rows } = await c.query<{ count: string; age: number | null }>({
    name: 'outboxBacklog',
    text: `select count(*) as count, extract(epoch from now() - min(created_at))::float8 as age from public.outbox`,
  });
  return { count: Number(rows[0]!.count), oldestAgeSeconds: rows[0]!.age ?? 0 };
}

/**
 * One keyset batch of outbox rows older than `olderThanSeconds`, after (tenant_id, id), optionally
 * for one tenant. Run by the consistency checker (I2) as fivetier_maintenance. Throws on SQL errors.
 */
export async function outboxScanOlderThan(
  c: TxClient,
  args: { afterTenant: string; afterId: string; tenantId: string | null; olderThanSeconds: number; limit: number },
): Promise<Array<{ tenant_id: string; id: string; job_type: string; created_at: Date }>> {
  const { rows } = await c.query({
    name: 'outboxScanOlderThan',
    text: `select tenant_id, id, job_type, created_at from public.outbox
            where (tenant_id, id) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
              and created_at < now() - make_interval(secs => $4)
            order by tenant_id, id limit $5`,
    values: [args.afterTenant, args.afterId, args.tenantId, args.olderThanSeconds, args.limit],
  });
  return rows;
}
