/**
 * Erasure in Redis: remove every trace of some texts (an address, a tenant id, the ids of erased
 * jobs) from the keys under a prefix. Redis holds only BullMQ's copies of dispatched jobs
 * (src/queue/dispatch-redis.ts): a job hash named and keyed by `<tenant>_<job>_<attempts>`, that
 * id in the queue's lists, sorted sets and event stream. Anything else a script or a dashboard
 * put under the prefix is searched the same way. Keys are walked with SCAN, never KEYS.
 */
import { Redis } from 'ioredis';

export interface RedisScrubResult {
  /** Keys looked at. */
  scanned: number;
  /** Whole keys deleted (a job hash, a string, a key whose name holds a text). */
  keysDeleted: number;
  /** Members removed from lists, sets, sorted sets and streams. */
  membersRemoved: number;
}

/**
 * Remove from the keys under `prefix` (`<prefix>:*`) everything that holds one of `needles`
 * (case-insensitive): keys whose name holds it go whole, as do strings and hashes whose content
 * does; lists, sets, sorted sets and streams lose the members that hold it. Idempotent.
 * Throws when Redis does not answer.
 */
export async function scrubRedis(url: string, prefix: string, needles: readonly string[]): Promise<RedisScrubResult> {
  const result: RedisScrubResult = { scanned: 0, keysDeleted: 0, membersRemoved: 0 };
  const lower = needles.map((n) => n.toLowerCase()).filter((n) => n.length > 0);
  if (lower.length === 0) return result;
  const holds = (s: string) => {
    const l = s.toLowerCase();
    return lower.some((n) => l.includes(n));
  };
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        result.scanned++;
        if (holds(key)) {
          result.keysDeleted += await redis.unlink(key);
          continue;
        }
        const type = await redis.type(key);
        if (type === 'string') {
          const v = await redis.get(key);
          if (v !== null && holds(v)) result.keysDeleted += await redis.unlink(key);
        } else if (type === 'hash') {
          const h = await redis.hgetall(key);
          if (Object.entries(h).some(([f, v]) => holds(f) || holds(v))) result.keysDeleted += await redis.unlink(key);
        } else if (type === 'list') {
          for (const m of new Set((await redis.lrange(key, 0, -1)).filter(holds))) result.membersRemoved += await redis.lrem(key, '0', m);
        } else if (type === 'set') {
          const ms = (await redis.smembers(key)).filter(holds);
          if (ms.length) result.membersRemoved += await redis.srem(key, ...ms);
        } else if (type === 'zset') {
          const ms = (await redis.zrange(key, '0', '-1')).filter(holds);
          if (ms.length) result.membersRemoved += await redis.zrem(key, ...ms);
        } else if (type === 'stream') {
          const entries = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
          const ids = entries.filter(([, fields]) => fields.some(holds)).map(([id]) => id);
          if (ids.length) result.membersRemoved += await redis.xdel(key, ...ids);
        }
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return result;
}
