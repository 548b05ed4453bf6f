import { EventEmitter } from 'node:events';
import type pg from 'pg';

/** How often an instance that is not the leader tries to become it, in ms. */
export const LEADERSHIP_RETRY_MS_DEFAULT = 2_000;

export interface LeadershipOptions {
  /** Where the lock's connection comes from (it is destroyed, never returned, when done). */
  connect: () => Promise<pg.PoolClient>;
  /** The advisory lock key (one per kind of singleton work). */
  key: number;
  retryMs?: number;
  log?: (line: string) => void;
  name: string;
}

/**
 * One leader among the service instances on the same tiers, by a PostgreSQL session advisory
 * lock held on a connection of its own. Singleton work (the orphan sweep, the consistency check,
 * partition upkeep, alert evaluation) runs only while `isLeader`. When the leading instance
 * dies, its session ends and the lock with it; another instance takes it at its next try. A
 * leader whose lock connection breaks stops leading at once (it may no longer hold the lock).
 * Emits `gained` and `lost`. Never throws.
 */
export class Leadership extends EventEmitter<{ gained: []; lost: [] }> {
  readonly #o: Required<Omit<LeadershipOptions, 'log'>> & Pick<LeadershipOptions, 'log'>;
  #client: pg.PoolClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #trying: Promise<void> | undefined;
  #stopped = true;
  #reachable = true;

  constructor(options: LeadershipOptions) {
    super();
    this.#o = { retryMs: LEADERSHIP_RETRY_MS_DEFAULT, ...options };
  }

  get isLeader(): boolean {
    return this.#client !== undefined;
  }

  /** False when the last try could not reach the lock's database (then no instance can lead). */
  get lockReachable(): boolean {
    return this.#reachable;
  }

  /** Start trying to lead (now, then every `retryMs` while not leading). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stop leading (the lock goes with the connection) and stop trying. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#trying;
    this.#drop();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#trying = this.#try().finally(() => {
        this.#trying = undefined;
        if (!this.isLeader) this.#schedule(this.#o.retryMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #try(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#o.connect();
      this.#reachable = true;
    } catch {
      this.#reachable = false;
      return;
    }
    const lost = () => {
      if (this.#client !== client) return;
      this.#drop();
      this.#schedule(this.#o.retryMs);
    };
    client.on('error', lost);
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [this.#o.key]);
      if (!rows[0]?.locked || this.#stopped) throw new Error('not the leader');
    } catch {
      client.off('error', lost);
      client.on('error', () => {});
      client.release(true); // why: a session that tried the lock goes away whole, never back to the pool
      return;
    }
    this.#client = client;
    this.#o.log?.(`${this.#o.name}: this instance leads`);
    this.emit('gained');
  }

  #drop(): void {
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    client.removeAllListeners('error');
    client.on('error', () => {});
    // why: ending the session releases the lock; the connection never goes back to the pool
    client.release(true);
    this.#o.log?.(`${this.#o.name}: this instance no longer leads`);
    this.emit('lost');
  }
}
