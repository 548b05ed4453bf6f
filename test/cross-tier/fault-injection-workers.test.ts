import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { waitForOutput, type TestChild } from '../helpers/processes.js';
import { jobOutcomes, newQueue, spawnRedisWorker, statusCounts } from '../queue/queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Must-show 5: worker processes in Redis mode SIGKILLed mid-run and restarted, with Redis up.
 * Jobs run at least once, so a handler may run again after a kill; what the design guarantees
 * and this test asserts: every job ends completed exactly once in `jobs` (one `success` log, at
 * most one completion event), every handler's side effect is there, and a side effect repeats only for a
 * job that a killed worker had started and not completed.
 */

/** Jobs enqueued before the workers start, then every PRODUCE_EVERY_MS while the kills go on. */
const INITIAL_JOBS = 200;
const PRODUCE_JOBS = 10;
const PRODUCE_EVERY_MS = 200;
const WORKERS = 3;
const KILLS = 5;
const KILL_EVERY_MS = 1_200;

const redisUrl = inject('redisUrl');
let ft: Fivetier;
let redis: Redis;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
  if (redisUrl) redis = new Redis(redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await ft?.close();
});

/** Job ids after `word` in a child's output ("started <id> ..." or "completed <id>"). */
const idsAfter = (out: string, word: string): string[] => [...out.matchAll(new RegExp(`^${word} (\\S+)`, 'gm'))].map((m) => m[1]!);

/** Jobs each killed worker had started and not printed as completed: the only ones that may run twice. */
function heldByKilledWorkers(killed: readonly TestChild[]): { heldByKilled: Set<string>; heldPerKill: number[] } {
  const heldByKilled = new Set<string>();
  const heldPerKill = killed.map((c) => {
    const done = new Set(idsAfter(c.output(), 'completed'));
    const held = idsAfter(c.output(), 'started').filter((id) => !done.has(id));
    for (const id of held) heldByKilled.add(id);
    return held.length;
  });
  return { heldByKilled, heldPerKill };
}

describe.runIf(redisUrl)('fault injection over Redis-mode workers', () => {
  it('workers SIGKILLed mid-run and restarted: every job completes once, side effects repeat only for jobs a killed worker held', { timeout: 90_000 }, async () => {
    const started = Date.now();
    const queue = await newQueue(ft, 'wkill');
    const prefix = testRedisPrefix();
    const runsKey = `${prefix}:runs`;
    const ids: string[] = [];
    const tenants = [newTenant(), newTenant(), newTenant(), newTenant()];
    const produce = async (n: number) => {
      const tenant = tenants[ids.length % tenants.length]!;
      const mine = Array.from({ length: n }, () => randomUUID());
      await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.work', null, mine, mine.map(() => ({}))));
      ids.push(...mine);
    };
    await produce(INITIAL_JOBS);

    const spawnWorker = (): TestChild => spawnRedisWorker({ queue, redisUrl, prefix, runsKey, concurrency: 5, handlerMs: '100-300', rescueMs: 250 });
    const live: TestChild[] = [];
    const killed: TestChild[] = [];
    const all: TestChild[] = [];
    const launch = async () => {
      const child = spawnWorker();
      all.push(child);
      await waitForOutput(child, /^ready worker-\S+ redis$/m, 30_000);
      live.push(child);
    };
    // Work keeps coming while workers are killed, so every kill finds jobs in flight.
    let producing = true;
    const producer = (async () => {
      while (producing) {
        await produce(PRODUCE_JOBS);
        await new Promise((r) => setTimeout(r, PRODUCE_EVERY_MS));
      }
    })();
    try {
      await Promise.all(Array.from({ length: WORKERS }, launch));
      const launches: Array<Promise<void>> = [];
      // Kill a random worker that has handlers running and start a new one, KILLS times.
      const busy = (c: TestChild) => idsAfter(c.output(), 'started').length > idsAfter(c.output(), 'completed').length;
      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        const candidates = await waitFor('a worker with handlers running', () => {
          const b = live.filter(busy);
          return b.length > 0 ? b : undefined;
        }, 15_000, 20);
        const victim = candidates[Math.floor(Math.random() * candidates.length)]!;
        live.splice(live.indexOf(victim), 1);
        victim.kill('SIGKILL');
        await victim.ended;
        killed.push(victim);
        // why: not awaited; a replacement starting up (a few seconds of tsx) must not pace the kills
        launches.push(launch());
      }
      await Promise.all(launches);
      producing = false;
      await producer;
      await waitFor('every job completed', async () => (await statusCounts(ft, queue)).completed === ids.length, 45_000, 200);
      const bull = new Queue(queue, { connection: redis, prefix });
      // The killed workers' copies: BullMQ's stalled check (lock 2 s) returns them, a live worker drops them.
      await waitFor('no copy left active or waiting in BullMQ', async () => (await bull.getActiveCount()) + (await bull.getWaitingCount()) === 0, 30_000, 200);
      await bull.close();
      // The live workers have printed every completion they wrote before they go too.
      await waitFor('the completion events of the live workers', () => {
        const seen = new Set([...all.flatMap((c) => idsAfter(c.output(), 'completed')), ...heldByKilledWorkers(killed).heldByKilled]);
        return ids.every((id) => seen.has(id));
      }, 10_000, 100);
    } finally {
      producing = false;
      await producer;
      for (const c of all) c.kill('SIGKILL');
      await Promise.all(all.map((c) => c.ended));
    }

    // In PostgreSQL: every job completed, with exactly one successful attempt logged.
    const rows = await jobOutcomes(ft, queue);
    expect(rows).toHaveLength(ids.length);
    expect(rows.filter((r) => r.status !== 'completed' || r.successes !== 1)).toEqual([]);
    // At most one completion event per job across every worker; a job has none only if a killed
    // worker held it (killed after its completion committed, before the event).
    const completions = all.flatMap((c) => idsAfter(c.output(), 'completed'));
    expect(completions.length - new Set(completions).size).toBe(0);
    const { heldByKilled, heldPerKill } = heldByKilledWorkers(killed);
    const completed = new Set(completions);
    expect(ids.filter((id) => !completed.has(id) && !heldByKilled.has(id))).toEqual([]);

    // Handler side effects: one at least for every job; more only where a killed worker held it.
    const runs = Object.fromEntries(Object.entries(await redis.hgetall(runsKey)).map(([id, n]) => [id, Number(n)]));
    await redis.del(runsKey);
    expect(Object.keys(runs).sort()).toEqual([...ids].sort());
    const repeated = Object.entries(runs).filter(([, n]) => n > 1).map(([id]) => id);
    expect(repeated.filter((id) => !heldByKilled.has(id))).toEqual([]);
    // Every kill hit a worker in the middle of jobs (else this test shows little).
    expect(heldPerKill.filter((n) => n === 0), JSON.stringify(heldPerKill)).toEqual([]);

    console.log(`worker fault injection: ${JSON.stringify({ jobs: ids.length, kills: killed.length, heldPerKill, heldByKilled: heldByKilled.size, handlerRepeats: repeated.length, seconds: Math.round((Date.now() - started) / 1000) })}`);
  });
});
