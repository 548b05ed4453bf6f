import { randomInt } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { Leadership } from '../../src/runtime/leadership.js';
import { openTestFivetier } from '../helpers/platform.js';
import { waitFor } from '../helpers/poll.js';

/** One leader at a time among instances; leadership moves when the leader's session dies. */
describe('leadership by advisory lock', () => {
  let a: Fivetier;
  let b: Fivetier;
  beforeAll(async () => {
    [a, b] = await Promise.all([openTestFivetier(), openTestFivetier()]);
  });
  afterAll(async () => Promise.all([a?.close(), b?.close()]));

  it('has one leader, and moves to the other instance when the leader dies', async () => {
    const key = randomInt(1, 2 ** 31 - 1);
    const make = (ft: Fivetier, name: string) => new Leadership({ connect: () => ft.oltp.poolFor('maintenance').connect(), key, retryMs: 200, name });
    const first = make(a, 'first');
    const second = make(b, 'second');
    first.start();
    await waitFor('a leader', () => first.isLeader, 10_000);
    second.start();
    await new Promise((r) => setTimeout(r, 800)); // several tries of the second
    expect([first.isLeader, second.isLeader]).toEqual([true, false]);

    // The leader's session dies (as when its process is SIGKILLed): the other takes over.
    const admin = new pg.Client({ connectionString: inject('tierUrls').oltp });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>("select count(pg_terminate_backend(pid))::int as n from pg_locks where locktype = 'advisory' and objid = $1 and granted", [key]);
      expect(rows[0]!.n).toBe(1);
    } finally {
      await admin.end();
    }
    await waitFor('the second leads', () => second.isLeader, 10_000);
    await waitFor('the first knows it lost', () => !first.isLeader, 10_000);
    await new Promise((r) => setTimeout(r, 600));
    expect([first.isLeader, second.isLeader]).toEqual([false, true]);
    await Promise.all([first.stop(), second.stop()]);
  });
});
