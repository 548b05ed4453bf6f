import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { exitCode, freePort, spawnScript, waitForOutput, type TestChild } from '../helpers/processes.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Must-show 3: two service instances on the same tiers. Both relay and run jobs; only the leader
 * runs the maintenance (orphan sweep, consistency check, partition upkeep, expiry). The leader is
 * SIGKILLed: the other takes the maintenance over within a lease period (its leadership retry),
 * no maintenance task ever runs in both at once, and every job enqueued across the kill completes.
 */
const LEASE_MS = 2_000;
const JOBS_BEFORE = 60;
const JOBS_AFTER = 60;

interface Run {
  instance: string;
  task: string;
  start: number;
  end: number;
}

/** Maintenance runs from an instance's output (a run cut short by SIGKILL ends at `killedAt`). */
function runsOf(instance: string, out: string, killedAt = Infinity): Run[] {
  const runs: Run[] = [];
  const open = new Map<string, number>();
  for (const m of out.matchAll(/^(\d+) maintenance: (.+) (started|finished)/gm)) {
    const [, at, task, what] = m;
    if (what === 'started') open.set(task!, Number(at));
    else {
      runs.push({ instance, task: task!, start: open.get(task!)!, end: Number(at) });
      open.delete(task!);
    }
  }
  for (const [task, start] of open) runs.push({ instance, task, start, end: killedAt });
  return runs;
}

const leadsAt = (out: string): number[] => [...out.matchAll(/^(\d+) maintenance: this instance leads/gm)].map((m) => Number(m[1]));
const done = (out: string): string[] => [...out.matchAll(/^\d+ done (\S+)/gm)].map((m) => m[1]!);

describe('two service instances on the same tiers', () => {
  let ft: Fivetier;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const children: TestChild[] = [];
  beforeAll(async () => {
    ({ ft, env, drop } = await openScratchFivetier('two'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await drop?.();
  });

  it('share relay and jobs, lead maintenance one at a time, and hand it over when the leader is SIGKILLed', { timeout: 150_000 }, async () => {
    const start = async () => {
      const child = spawnScript('test/ops/fixtures/ops-service.ts', [], { ...env, FIVETIER_HTTP_PORT: String(await freePort()), OPS_LEASE_MS: String(LEASE_MS) });
      children.push(child);
      await waitForOutput(child, /listening on/, 60_000);
      return child;
    };
    const a = await start();
    await waitForOutput(a, /maintenance: this instance leads/, 20_000);
    const b = await start();
    const tenantId = (await createTenant(ft, { name: 'two instances' })).id;
    const ids: string[] = [];
    const produce = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        await enqueue(ft.queue, tenantId, { id, type: 'ops.work' });
        ids.push(id);
        if (i % 10 === 0) ids.push((await sendEmail(ft, { tenantId, recipient: 'r@example.com', body: `b${i}` })).jobId);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await produce(JOBS_BEFORE);
    // Both instances run jobs, and both have seen maintenance runs happen (by the leader only).
    await waitFor('both instances running jobs', () => done(a.output()).length > 0 && done(b.output()).length > 0, 20_000);
    await waitFor('maintenance runs in the leader', () => runsOf('a', a.output()).filter((r) => r.task === 'consistency check').length >= 2, 20_000);
    expect(runsOf('b', b.output())).toEqual([]);
    expect(leadsAt(b.output())).toEqual([]);

    // The leader dies mid-work; jobs keep coming.
    const producing = produce(JOBS_AFTER);
    await new Promise((r) => setTimeout(r, 300));
    a.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await a.ended).signal).toBe('SIGKILL');
    await waitForOutput(b, /maintenance: this instance leads/, 20_000);
    const takeover = leadsAt(b.output())[0]! - killedAt;
    // The lock goes with the dead session at once; the survivor takes it at its next try.
    expect(takeover, `took over ${takeover} ms after the kill`).toBeLessThan(LEASE_MS + 1_000);
    await producing;
    await waitFor('maintenance runs in the new leader', () => ['orphan sweep', 'consistency check', 'olap partitions'].every((t) => runsOf('b', b.output()).some((r) => r.task === t)), 20_000);

    // Every job enqueued before, during and after the kill completes (those the dead instance
    // held are rescued when their lease expires).
    await waitFor('every job completed', async () => {
      const { rows } = await ft.queue.withMaintenance((c) => c.query<{ status: string; n: number }>('select status, count(*)::int as n from public.jobs where tenant_id = $1 group by 1', [tenantId]));
      return rows.length === 1 && rows[0]!.status === 'completed' && rows[0]!.n === ids.length;
    }, 60_000);
    const outbox = await ft.oltp.withMaintenance((c) => c.query<{ n: number }>('select count(*)::int as n from public.outbox'));
    expect(outbox.rows[0]!.n).toBe(0);
    const completedBy = new Set([...done(a.output()), ...done(b.output())]);
    expect(ids.filter((id) => !completedBy.has(id))).toEqual([]);

    b.kill('SIGTERM');
    expect(await exitCode(b), b.output()).toBe(0);

    // No maintenance task ever ran in both instances at once.
    const runs = [...runsOf('a', a.output(), killedAt), ...runsOf('b', b.output())];
    const overlaps: string[] = [];
    for (const x of runs) for (const y of runs) if (x.instance === 'a' && y.instance === 'b' && x.task === y.task && x.start < y.end && y.start < x.end) overlaps.push(`${x.task}: a ${x.start}-${x.end}, b ${y.start}-${y.end}`);
    expect(overlaps).toEqual([]);
    expect(runs.filter((r) => r.instance === 'b').every((r) => r.start >= killedAt)).toBe(true);
    console.log(`two instances: ${ids.length} jobs (a ran ${done(a.output()).length}, b ${done(b.output()).length}); ${runs.length} maintenance runs; takeover ${takeover} ms after the SIGKILL`);
  });
});
