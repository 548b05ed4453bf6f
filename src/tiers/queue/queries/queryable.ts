import type pg from 'pg';

/** What the queue queries need of a connection: a pool (autocommit) or a client in a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}
