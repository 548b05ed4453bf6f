import pg from 'pg';

/**
 * A pg.Client that knows whether it waits on the server (connecting or querying), and since when. Every pool of a
 * TierClient makes its connections with such a class, so the tier's watchdog sees every query
 * in flight (transactions, plain `pool.query`, the queue's statements) without each caller
 * having to report it.
 */
export interface TrackedClient extends pg.Client {
  /** performance.now() when the oldest query still in flight was sent; 0 when idle. */
  readonly busySince: number;
  /** Destroy the socket at once: every query in flight fails with a connection error. */
  kill(reason: Error): void;
}

type Callback = (...args: unknown[]) => void;

/**
 * A pg.Client class whose instances add themselves to `live` while connected. With
 * `namedStatements: false` it drops the name of every query it is given, so nothing is prepared
 * on a server connection that a transaction-mode pooler may hand to another client next.
 */
export function trackedClientClass(live: Set<TrackedClient>, options: { namedStatements?: boolean } = {}): typeof pg.Client {
  const unnamed = options.namedStatements === false;
  return class extends pg.Client implements TrackedClient {
    #pending = 0;
    busySince = 0;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      live.add(this);
      this.once('end', () => live.delete(this));
    }

    // why: one override covers the callback form (pg.Pool#query), the promise form and submittables
    override query(...args: unknown[]): never {
      if (unnamed) args[0] = withoutName(args[0]);
      this.#begin();
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const cb = args[last] as Callback;
        args[last] = (...r: unknown[]) => {
          this.#end();
          cb(...r);
        };
        return (super.query as (...a: unknown[]) => never)(...args);
      }
      let result: unknown;
      try {
        result = (super.query as (...a: unknown[]) => unknown)(...args);
      } catch (err) {
        this.#end();
        throw err;
      }
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(
          () => this.#end(),
          () => this.#end(),
        );
      } else if (result && typeof (result as { handleReadyForQuery?: unknown }).handleReadyForQuery === 'function') {
        // why: a submittable (COPY, cursor) waits on the server as a query does; the watchdog
        // must see it in flight until pg hands it the end of its statement
        const sub = result as { handleReadyForQuery: Callback; handleError?: Callback };
        let ended = false;
        const end = () => {
          if (!ended) (ended = true), this.#end();
        };
        const ready = sub.handleReadyForQuery.bind(sub);
        sub.handleReadyForQuery = (...r: unknown[]) => (end(), ready(...r));
        if (typeof sub.handleError === 'function') {
          const failed = sub.handleError.bind(sub);
          sub.handleError = (...r: unknown[]) => (end(), failed(...r));
        }
      } else {
        this.#end();
      }
      return result as never;
    }

    // why: a connection attempt that the tier accepts and never answers is waiting on it too
    override connect(...args: unknown[]): never {
      this.#begin();
      const cb = args[0];
      if (typeof cb === 'function') {
        return (super.connect as unknown as (cb: Callback) => never)((...r: unknown[]) => {
          this.#end();
          (cb as Callback)(...r);
        });
      }
      const result = (super.connect as unknown as () => Promise<unknown>)();
      result.then(
        () => this.#end(),
        () => this.#end(),
      );
      return result as never;
    }

    kill(reason: Error): void {
      const stream = (this as unknown as { connection?: { stream?: { destroy: (e?: Error) => void } } }).connection?.stream;
      stream?.destroy(reason);
    }

    #begin(): void {
      if (this.#pending++ === 0) this.busySince = performance.now();
    }

    #end(): void {
      if (--this.#pending <= 0) {
        this.#pending = 0;
        this.busySince = 0;
      }
    }
  } as unknown as typeof pg.Client;
}

/** A query config without its statement name (text, values, rowMode and submittables kept as they are). */
export function withoutName(query: unknown): unknown {
  if (query === null || typeof query !== 'object' || !('name' in query) || typeof (query as { submit?: unknown }).submit === 'function') return query;
  const { name: _name, ...rest } = query as Record<string, unknown>;
  return rest;
}
