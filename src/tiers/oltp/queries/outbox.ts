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
    text: `insert into outbox (tenant_id, queue_name, job_type, payload, priority, run_at)
           values ($1, $2, $3, $4, $5, $6) returning id`,
    values: [row.tenantId, row.queueName, row.jobType, JSON.stringify(row.payload ?? {}), row.priority, row.runAt],
  });
  return rows[0]!;
}

/**
 * Lock the oldest outbox rows that no other relay holds (FOR UPDATE SKIP LOCKED), so several
 * relays can run at once. Run by the outbox relay as fivetier_worker. Throws on SQL errors.
 */
export async function outboxClaimOldest(c: TxClient, limit: number): Promise<OutboxRow[]> {
  const { rows } = await c.query<OutboxRow>({
    name: 'outboxClaimOldest',
    text: `select tenant_id, id, queue_name, job_type, payload, priority, run_at, created_at
             from outbox order by created_at limit $1 for update skip locked`,
    values: [limit],
  });
  return rows;
}

/** Delete relayed rows by key. Run by the outbox relay once the queue tier has the jobs. Throws on SQL errors. */
export async function outboxDeleteMany(c: TxClient, tenantIds: string[], ids: string[]): Promise<number> {
  const res = await c.query({
    name: 'outboxDeleteMany',
    text: `delete from outbox o using unnest($1::uuid[], $2::uuid[]) as k(tenant_id, id)
            where o.tenant_id = k.tenant_id and o.id = k.id`,
    values: [tenantIds, ids],
  });
  return res.rowCount ?? 0;
}

/** Rows waiting and the age of the oldest, in seconds. Run by the relay for its metrics. Throws on SQL errors. */
export async function outboxBacklog(c: TxClient): Promise<{ count: number; oldestAgeSeconds: number }> {
  const { rows } = await c.query<{ count: string; age: number | null }>({
    name: 'outboxBacklog',
    text: `select count(*) as count, extract(epoch from now() - min(created_at))::float8 as age from outbox`,
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
    text: `select tenant_id, id, job_type, created_at from outbox
            where (tenant_id, id) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
              and created_at < now() - make_interval(secs => $4)
            order by tenant_id, id limit $5`,
    values: [args.afterTenant, args.afterId, args.tenantId, args.olderThanSeconds, args.limit],
  });
  return rows;
}
