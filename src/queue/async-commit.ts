import type pg from 'pg';

/**
 * Run `fn` in a transaction with `synchronous_commit = off`: the commit does not wait for the WAL
 * flush. Used only for job state transitions after enqueue (dispatch, start, complete, retry,
 * dead), where losing the last few hundred ms of transitions in a PostgreSQL crash means a job
 * runs again (jobs run at least once anyway) and never that a job is lost. Enqueue and operator
 * actions commit synchronously. Rolls back and rethrows when `fn` throws; throws what `pg` throws.
 */
export async function withAsyncCommit<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN; SET LOCAL synchronous_commit TO OFF');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}
