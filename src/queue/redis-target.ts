/**
 * Where the Redis dispatch layer lives: one Redis server, or a Redis Cluster. A cluster is named
 * by the URL of one of its nodes with `?cluster=true` (`QUEUE_REDIS_URL=redis://node-1:7000/?cluster=true`;
 * more seed nodes in `nodes=host:port,host:port`), so the one URL setting covers both.
 *
 * In a cluster every key a BullMQ script touches must hash to one slot, so each fivetier queue's
 * BullMQ keys carry a hash tag of their own (`{<prefix>:<queue>}`): all of one queue's keys live
 * on one master, and the queues spread over the masters.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { FivetierError } from '../errors/codes.js';

export interface RedisTarget {
  /** The URL as given (with credentials: never log it). */
  url: string;
  cluster: boolean;
  /** Seed nodes of a cluster: the URL's host first. */
  nodes: Array<{ host: string; port: number }>;
}

/** Read a Redis URL. Throws FT_ERR_INPUT_INVALID for one that is not redis:// or rediss://. */
export function redisTarget(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FivetierError('FT_ERR_INPUT_INVALID', ['the Redis URL is not a URL']);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new FivetierError('FT_ERR_INPUT_INVALID', [`the Redis URL must be redis:// or rediss://, got ${u.protocol}`]);
  const cluster = ['true', 'yes', '1'].includes(u.searchParams.get('cluster') ?? '');
  const nodes = [{ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) }];
  for (const n of (u.searchParams.get('nodes') ?? '').split(',').filter(Boolean)) {
    const [host, port] = n.split(':');
    if (!host || !Number.isInteger(Number(port))) throw new FivetierError('FT_ERR_INPUT_INVALID', [`Redis cluster node ${JSON.stringify(n)} is not host:port`]);
    nodes.push({ host, port: Number(port) });
  }
  return { url, cluster, nodes };
}

/** A Redis URL without the parameters fivetier reads (`cluster`, `nodes`), for ioredis; the URL itself when it has none. */
function plainUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('cluster') && !u.searchParams.has('nodes')) return url;
  u.searchParams.delete('cluster');
  u.searchParams.delete('nodes');
  return u.toString();
}

/**
 * A connection to the target: `Redis` for one server, `Cluster` for a cluster (with the options
 * applied to each node connection, and the cluster-level ones that matter for BullMQ).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions): Redis | Cluster {
  if (!target.cluster) return new Redis(plainUrl(target.url), options);
  const u = new URL(target.url);
  const { enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
  return new Cluster(target.nodes, {
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    // why: a node that died is dropped from the slot map on the next refresh, not retried forever
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      ...nodeOptions,
      username: decodeURIComponent(u.username) || undefined,
      password: decodeURIComponent(u.password) || undefined,
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

/**
 * The BullMQ key prefix of one fivetier queue: the configured prefix on one server; on a
 * cluster, a hash tag naming prefix and queue, so every key of the queue is in one slot.
 */
export function bullPrefix(target: RedisTarget, prefix: string, queue: string): string {
  return target.cluster ? `{${prefix}:${queue}}` : prefix;
}
