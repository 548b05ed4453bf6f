import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { bullPrefix, redisTarget } from '../../src/queue/redis-target.js';
import { JobWorker, type DispatchMode } from '../../src/queue/worker.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { freePort } from '../helpers/processes.js';
import { redisServerOrSkip, startRedisServer } from '../helpers/redis-server.js';
import { jobOutcomes, newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

const enabled = redisServerOrSkip();

/** A three-master Redis Cluster (no replicas) of private redis-server processes in a temp dir. */
class PrivateCluster {
  readonly ports: number[] = [];
  readonly #children = new Map<number, ChildProcess>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'ft-redis-cluster-'));

  async start(): Promise<void> {
    for (let i = 0; i < 3; i++) this.ports.push(await freePort());
    await Promise.all(this.ports.map((port) => this.#startNode(port)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const port of this.ports) {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      await r.connect();
      await waitFor(`cluster state ok on ${port}`, async () => /cluster_state:ok/.test(String(await r.cluster('INFO'))), 20_000, 100);
      r.disconnect();
    }
  }

  async #startNode(port: number): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--dir', this.#dir];
    this.#children.set(port, await startRedisServer(args));
  }

  /** The port of the master that serves `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const r = new Redis({ port: this.ports[0], host: '127.0.0.1' });
    try {
      const slot = Number(await r.cluster('KEYSLOT', key));
      const ranges = (await r.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return Number(range[2][1]);
    } finally {
      r.disconnect();
    }
  }

  async kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    this.#children.delete(port);
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    for (const port of [...this.#children.keys()]) await this.kill(port);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

describe('the Redis target named by a URL', () => {
  it('is one server unless the URL asks for a cluster; a cluster tags each queue\'s keys', () => {
    const one = redisTarget('redis://:secret@127.0.0.1:6380/2');
    expect([one.cluster, one.nodes, bullPrefix(one, 'fivetier', 'email-sending')]).toEqual([false, [{ host: '127.0.0.1', port: 6380 }], 'fivetier']);
    const cluster = redisTarget('redis://node-1:7000/?cluster=true&nodes=node-2:7001,node-3:7002');
    expect(cluster.cluster).toBe(true);
    expect(cluster.nodes).toEqual([
      { host: 'node-1', port: 7000 },
      { host: 'node-2', port: 7001 },
      { host: 'node-3', port: 7002 },
    ]);
    expect(bullPrefix(cluster, 'fivetier', 'email-sending')).toBe('{fivetier:email-sending}');
    expect(() => redisTarget('http://node-1:7000')).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => redisTarget('redis://node-1:7000/?cluster=true&nodes=node-2')).toThrow(/not host:port/);
  });
});

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

describe.runIf(enabled)('Redis mode on a three-master Redis Cluster', () => {
  it('jobs flow through the cluster; the master holding the queue killed mid-run: no job lost, each completes once', { timeout: 120_000 }, async () => {
    const cluster = new PrivateCluster();
    await cluster.start();
    const queue = await newQueue(ft, 'cluster');
    const prefix = testRedisPrefix();
    const url = `redis://127.0.0.1:${cluster.ports[0]}/?cluster=true`;
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 10, redisUrl: url, redisPrefix: prefix, redisPingMs: 200, dispatchLeaseMs: 2_000, rescueIntervalMs: 250, pollIntervalMs: 100, metricsIntervalMs: 0 });
    const modes: DispatchMode[] = [];
    const runs = new Map<string, number>();
    const via = { redis: 0, postgres: 0 };
    worker.on('mode', (m) => modes.push(m));
    worker.on('completed', (_job, how) => void via[how]++);
    worker.registerHandler('test.cluster', async (job) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    });
    const tenant = newTenant();
    const ids: string[] = [];
    const enqueueSome = async (n: number) => {
      const batch = Array.from({ length: n }, () => randomUUID());
      ids.push(...batch);
      await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.cluster', null, batch, batch.map(() => ({}))));
    };
    try {
      await worker.start();
      expect(worker.mode).toBe('redis');
      // Jobs keep arriving while the run goes on.
      let feeding = true;
      const feeder = (async () => {
        while (feeding && ids.length < 600) {
          await enqueueSome(20);
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      await waitFor('jobs completed through Redis', () => via.redis >= 100, 30_000);

      // A burst, so that copies wait in Redis; then the master that holds every key of the
      // queue (its hash tag's slot) dies with them.
      await enqueueSome(300);
      const victim = await cluster.masterOf(bullPrefix(redisTarget(url), prefix, queue));
      const before = await waitFor('copies waiting in Redis', async () => {
        const counts = await statusCounts(ft, queue);
        return (counts.dispatched ?? 0) > 0 ? counts : undefined;
      });
      await cluster.kill(victim);
      console.log(`killed master ${victim} with ${JSON.stringify(before)} in PostgreSQL, ${via.redis} completed through Redis`);
      await waitFor('PostgreSQL dispatch', () => modes.includes('postgres'), 30_000);
      feeding = false;
      await feeder;
      await enqueueSome(50); // and more after the switch
      await waitFor('every job completed', async () => (await statusCounts(ft, queue)).completed === ids.length, 60_000);

      const rows = await jobOutcomes(ft, queue);
      expect(rows).toHaveLength(ids.length);
      expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
      expect(rows.filter((r) => r.successes !== 1)).toEqual([]);
      expect([...runs.keys()].sort()).toEqual([...ids].sort());
      console.log(`completed through Redis ${via.redis}, through PostgreSQL ${via.postgres}; handler runs > 1: ${[...runs.values()].filter((n) => n > 1).length}`);
      expect(via.redis).toBeGreaterThanOrEqual(100);
      expect(via.postgres).toBeGreaterThan(0);
    } finally {
      await worker.stop(2_000);
      await cluster.stop();
    }
  });
});
