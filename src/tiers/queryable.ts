import type pg from 'pg';

/** What a one-statement query needs of a connection: a role's statements (autocommit) or a client in a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}
