import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CopyOutRows } from '../../src/tiers/copy-out-rows.js';

/** Every row of `rows` as a string (the test's data is small). */
async function readAll(rows: CopyOutRows): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    while (rows.step()) out.push(rows.buf.toString('utf8', rows.start, rows.end));
    if (!(await rows.fill())) return out;
  }
}

describe('CopyOutRows: COPY TO STDOUT read in place from the socket', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: inject('tierUrls').oltp });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  it('reads every row, in order, including rows longer than a socket chunk, and the connection serves the next query', async () => {
    const rows = client.query(new CopyOutRows(`copy (select i, case when i % 1000 = 0 then repeat('x', 100000) else 'r' || i end from generate_series(1, 20000) i) to stdout`));
    const got = await readAll(rows);
    expect(got).toHaveLength(20_000);
    expect(got[0]).toBe('1\tr1');
    expect(got[999]).toBe(`1000\t${'x'.repeat(100_000)}`);
    expect(got[19_999]).toBe(`20000\t${'x'.repeat(100_000)}`);
    expect(rows.count).toBe(20_000);
    expect(rows.finished).toBe(true);
    expect((await client.query('select 41 + 1 as n')).rows).toEqual([{ n: 42 }]);
  });

  it('an empty result ends at once', async () => {
    expect(await readAll(client.query(new CopyOutRows('copy (select 1 where false) to stdout')))).toEqual([]);
  });

  it("fails with the server's error when the COPY fails halfway, and the connection stays usable", async () => {
    const rows = client.query(new CopyOutRows('copy (select 1 / (50000 - i) from generate_series(1, 100000) i) to stdout'));
    const err = await readAll(rows).catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('22012'); // division by zero, after 49,999 rows
    expect(rows.count).toBeLessThan(50_000);
    expect((await client.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
  });

  it('fails when the statement is refused before any row', async () => {
    const err = await readAll(client.query(new CopyOutRows('copy (select * from public.no_such_table) to stdout'))).catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('42P01');
    expect((await client.query('select 2 as n')).rows).toEqual([{ n: 2 }]);
  });

  it('fails when the server ends the connection mid-stream', async () => {
    const victim = new pg.Client({ connectionString: inject('tierUrls').oltp });
    victim.on('error', () => {});
    await victim.connect();
    const pid = (await victim.query('select pg_backend_pid() as pid')).rows[0].pid;
    const rows = victim.query(new CopyOutRows('copy (select i from generate_series(1, 20000000) i) to stdout'));
    // Read a little, then have the server end that backend.
    while (!rows.step()) await rows.fill();
    await client.query('select pg_terminate_backend($1)', [pid]);
    const drain = async () => {
      for (;;) {
        while (rows.step());
        if (!(await rows.fill())) return 'ended';
      }
    };
    const err = await drain().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    await victim.end().catch(() => {});
  });
});
