import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { connectRedis, redisTarget } from './redis-target.js';

/** How often the link pings Redis, in ms. */
export const REDIS_PING_INTERVAL_MS_DEFAULT = 500;

/**
 * Watches one Redis server with a PING every `intervalMs` (a Redis Cluster: `CLUSTER INFO`,
 * up while `cluster_state:ok`, that is while every slot has a live master) and emits `change`
 * with `true` (up) or `false` (down) when that flips. One failed check counts as down: switching
 * to PostgreSQL dispatch is cheap, and jobs are never lost by switching. Never throws.
 */
export class RedisLink extends EventEmitter<{ change: [up: boolean] }> {
  readonly url: string;
  #up: boolean | undefined;
  #client: Redis | Cluster;
  readonly #cluster: boolean;
  #timer: NodeJS.Timeout | undefined;
  #intervalMs: number;

  constructor(url: string, intervalMs = REDIS_PING_INTERVAL_MS_DEFAULT) {
    super();
    this.url = url;
    this.#intervalMs = intervalMs;
    const target = redisTarget(url);
    this.#cluster = target.cluster;
    this.#client = connectRedis(target, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => intervalMs, lazyConnect: true });
    this.#client.on('error', () => {});
  }

  get up(): boolean {
    return this.#up === true;
  }

  /** Resolve once the first ping has answered or failed. */
  async start(): Promise<boolean> {
    this.#client.connect().catch(() => {});
    await this.#check();
    this.#timer = setInterval(() => void this.#check(), this.#intervalMs);
    this.#timer.unref();
    return this.up;
  }

  async #check(): Promise<void> {
    let ok = false;
    try {
      if (this.#client.status !== 'ready') await waitReady(this.#client, 1_000);
      const check = this.#cluster ? this.#client.cluster('INFO').then((info) => /cluster_state:ok/.test(String(info))) : this.#client.ping().then((answer) => answer === 'PONG');
      ok = await Promise.race([check, new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error('ping timeout')), 1_000).unref())]);
    } catch {
      ok = false;
    }
    if (ok !== this.#up) {
      this.#up = ok;
      this.emit('change', ok);
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#client.disconnect();
  }
}

function waitReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.status === 'ready') return resolve();
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error('not ready'));
    }, timeoutMs);
    timer.unref();
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
