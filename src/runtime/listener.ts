import type pg from 'pg';

/** How long to wait before listening again after the connection was lost, in ms. */
export const LISTEN_RETRY_MS_DEFAULT = 1_000;

export interface ChannelListenerOptions {
  /** Where the LISTEN connection comes from (it is destroyed, never returned, when done). */
  connect: () => Promise<pg.PoolClient>;
  /** The channel (a plain identifier). */
  channel: string;
  /** Called for every notification. Must not throw. */
  onNotify: () => void;
  /**
   * Called each time LISTEN is (re)established. Notifications sent while nobody listened went
   * to no one, so a consumer usually does one pass of its work here. Must not throw.
   */
  onListening?: () => void;
  retryMs?: number;
  /**
   * The tier the connection goes to: when it reports `up` again (its watchdog saw it down),
   * listen again on a fresh connection, since the old one may have missed notifications or
   * hang on a network that dropped it silently.
   */
  tier?: { on(event: 'up', fn: () => void): unknown; off(event: 'up', fn: () => void): unknown };
}

/**
 * Holds one connection that LISTENs on a channel, and listens again whenever that connection
 * is lost (server restart, network cut, the tier's watchdog destroying it). Shared by the
 * outbox relay and the queue workers. Never throws; a LISTEN connection never goes back to a
 * pool (it would carry the LISTEN to the next user).
 *
 * @example
 * const l = new ChannelListener({ connect: () => pool.connect(), channel: 'fivetier_jobs', onNotify: wake });
 * l.start();
 * await l.stop();
 */
export class ChannelListener {
  readonly #o: Required<Omit<ChannelListenerOptions, 'onListening' | 'tier'>> & Pick<ChannelListenerOptions, 'onListening' | 'tier'>;
  readonly #onTierUp = () => this.reconnect();
  #client: pg.PoolClient | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | undefined;
  #dropClient: (() => void) | undefined;
  #listeningForTier = false;

  constructor(options: ChannelListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) throw new Error(`ChannelListener: bad channel name ${JSON.stringify(options.channel)}`);
    this.#o = { retryMs: LISTEN_RETRY_MS_DEFAULT, ...options };
  }

  /** True while a LISTEN connection is established. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  /** Start listening (in the background). Idempotent; never throws. */
  start(): void {
    if (!this.#listeningForTier) this.#o.tier?.on('up', this.#onTierUp);
    this.#listeningForTier = true;
    this.#stopped = false;
    if (!this.#client && !this.#connecting && !this.#retry) this.#connecting = this.#listen().finally(() => (this.#connecting = undefined));
  }

  /** Drop the connection now and listen again on a fresh one (e.g. after the tier came back). */
  reconnect(): void {
    if (this.#stopped) return;
    if (this.#dropClient) this.#dropClient();
    else this.start();
  }

  /** Stop listening and destroy the connection. Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.tier?.off('up', this.#onTierUp);
    this.#listeningForTier = false;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#connecting;
    this.#dropClient?.();
  }

  async #listen(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#o.connect();
    } catch {
      return this.#scheduleRetry();
    }
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      client.off('notification', this.#o.onNotify);
      client.off('error', drop);
      // why: a connection being destroyed may still report its socket error; that must not crash
      client.on('error', ignore);
      client.release(true);
      if (this.#client === client) {
        this.#client = undefined;
        this.#dropClient = undefined;
      }
      this.#scheduleRetry();
    };
    client.on('notification', this.#o.onNotify);
    client.on('error', drop);
    try {
      await client.query(`LISTEN ${this.#o.channel}`);
    } catch {
      return drop();
    }
    if (dropped) return;
    if (this.#stopped) return drop();
    this.#client = client;
    this.#dropClient = drop;
    this.#o.onListening?.();
  }

  #scheduleRetry(): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.start();
    }, this.#o.retryMs);
    this.#retry.unref();
  }
}

function ignore(): void {}
