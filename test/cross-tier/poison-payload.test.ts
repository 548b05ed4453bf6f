import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseTransaction, OutboxRelay, relayBatch, relayOutbox } from '../../src/cross-tier/index.js';
import { RELAY_ROW_MAX_BYTES } from '../../src/cross-tier/outbox-relay.js';
import { isFivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob } from '../../src/queue/operator.js';
import { JOB_PAYLOAD_MAX_BYTES } from '../../src/queue/payload.js';
import { ROLES, type TierName } from '../../src/types.js';
import { createTenant, openScratchFivetier, tenantState } from '../helpers/cross-tier.js';
import { newTenant } from '../helpers/platform.js';
import { newQueue } from '../queue/queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

/** A payload whose compact JSON is exactly `bytes` long. */
const payloadOf = (bytes: number) => ({ blob: 'x'.repeat(bytes - '{"blob":""}'.length) });
const inputInvalid = (e: unknown) => isFivetierError(e, 'FT_ERR_INPUT_INVALID');

describe('job payloads', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  let urls: Record<TierName, string>;
  beforeAll(async () => {
    ({ ft, drop, urls } = await openScratchFivetier('poison'));
  });
  afterAll(async () => {
    await drop();
  });

  it(`are capped at ${JOB_PAYLOAD_MAX_BYTES} bytes of JSON by enqueue, with a clear error and nothing written`, async () => {
    const queue = await newQueue(ft, 'cap');
    const tenant = newTenant();
    expect(JSON.stringify(payloadOf(JOB_PAYLOAD_MAX_BYTES)).length).toBe(JOB_PAYLOAD_MAX_BYTES);
    expect(await enqueue(ft.queue, tenant, { queue, type: 'test.cap', payload: payloadOf(JOB_PAYLOAD_MAX_BYTES) })).toBeDefined();

    const id = crypto.randomUUID();
    const err = await enqueue(ft.queue, tenant, { id, queue, type: 'test.cap', payload: payloadOf(JOB_PAYLOAD_MAX_BYTES + 1) }).catch((e: unknown) => e);
    expect(inputInvalid(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`${JOB_PAYLOAD_MAX_BYTES + 1} bytes of JSON, over the ${JOB_PAYLOAD_MAX_BYTES}-byte cap`));
    expect(await getJob(ft.queue, id, tenant)).toBeUndefined();

    await expect(enqueue(ft.queue, tenant, { queue, type: 'test.cap', payload: { n: 1n } })).rejects.toSatisfy(inputInvalid);
  });

  it('are capped by DatabaseTransaction.insertQueue, before anything reaches the outbox', async () => {
    const tenantId = await createTenant(ft);
    const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
    await tx.insertOLTP('emails', { recipient: 'cap@example.com' });
    const err = await tx.insertQueue('job_queue', { job_type: 'big', payload: payloadOf(JOB_PAYLOAD_MAX_BYTES + 1) }).catch((e: unknown) => e);
    expect(inputInvalid(err)).toBe(true);
    expect((err as Error).message).toMatch(/^insertQueue: the payload is \d+ bytes of JSON/);
    // The transaction is still usable: a payload at the cap goes in.
    await tx.insertQueue('job_queue', { job_type: 'big', payload: payloadOf(JOB_PAYLOAD_MAX_BYTES) });
    await tx.commit();
    const state = await tenantState(ft, tenantId);
    expect(state.outbox).toHaveLength(1);
  });

  it("one tenant's 56 outbox rows of 10 MB (written by SQL, past the cap) do not stop another tenant's jobs; they are set aside with the reason", async () => {
    const [big, small] = [await createTenant(ft), await createTenant(ft)];
    const admin = new pg.Client({ connectionString: urls.oltp });
    await admin.connect();
    try {
      // Straight into the outbox as the owner role, as a migration, a script or old code could.
      await admin.query('begin');
      await admin.query(`set local role ${ROLES.owner}`);
      await admin.query("select set_config('app.current_tenant_id', $1, true)", [big]);
      await admin.query(
        `insert into public.outbox (tenant_id, job_type, payload, created_at)
         select $1, 'poison', jsonb_build_object('blob', repeat('x', 10 * 1024 * 1024)), now() - make_interval(secs => 1000 - g)
           from generate_series(1, 56) g`,
        [big],
      );
      await admin.query('commit');
    } finally {
      await admin.end();
    }
    // The small row is the newest: every batch that reaches it holds the big ones first.
    const tx = new DatabaseTransaction({ fivetier: ft, tenantId: small });
    const { id: smallJob } = await tx.insertQueue('job_queue', { job_type: 'small', payload: { n: 1 } });
    await tx.commit();

    const passes: Array<{ moved: number; error?: unknown }> = [];
    const relay = new OutboxRelay(ft, { pollIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 200, onPass: (p) => passes.push(p) });
    relay.start();
    try {
      await waitFor("the other tenant's job", async () => (await getJob(ft.queue, smallJob, small))?.status === 'queued', 60_000, 100);
      // The pass that relayed it has committed in OLTP too (the queue tier commits first).
      await waitFor('the pass to end', () => passes.reduce((n, p) => n + p.moved, 0) >= 57, 30_000, 50);
      expect(passes.filter((p) => p.error !== undefined).map((p) => String(p.error))).toEqual([]);

      const rejected = await ft.oltp.withMaintenance((c) =>
        c.query<{ n: number; min_bytes: string; reasons: string[] }>(
          'select count(*)::int as n, min(payload_bytes) as min_bytes, array_agg(distinct reason) as reasons from public.outbox_rejected where tenant_id = $1',
          [big],
        ),
      );
      expect(rejected.rows[0]!.n).toBe(56);
      expect(Number(rejected.rows[0]!.min_bytes)).toBeGreaterThan(10 * 1024 * 1024);
      expect(rejected.rows[0]!.reasons).toEqual([expect.stringMatching(/^payload of \d+ bytes is over the relay's \d+-byte row cap$/)]);
      expect((await tenantState(ft, big)).outbox).toEqual([]);
      expect((await tenantState(ft, big)).jobs).toEqual([]);
      const events = await ft.notifications.withMaintenance((c) =>
        c.query<{ details: { count: number } }>("select details from public.admin_system_events where event_type = 'outbox_rows_set_aside'"),
      );
      expect(events.rows.reduce((n, r) => n + r.details.count, 0)).toBe(56);

      // The relay keeps moving.
      const next = new DatabaseTransaction({ fivetier: ft, tenantId: big });
      const { id: later } = await next.insertQueue('job_queue', { job_type: 'small', payload: { n: 2 } });
      await next.commit();
      await waitFor('a later job of the same tenant', async () => (await getJob(ft.queue, later, big))?.status === 'queued', 30_000, 100);
    } finally {
      await relay.stop();
    }
  });

  it('a batch holds at most its byte budget, and relayOutbox goes on while batches are cut by bytes', async () => {
    const tenantId = await createTenant(ft);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
      ids.push((await tx.insertQueue('job_queue', { job_type: 'sized', payload: payloadOf(50_000) })).id);
      await tx.commit();
    }
    // A budget of one row cap (128 KiB) holds two of these 50 kB payloads, not three.
    expect(await relayBatch(ft, 500, RELAY_ROW_MAX_BYTES)).toBe(2);
    expect((await tenantState(ft, tenantId)).jobs).toHaveLength(2);
    await expect(relayBatch(ft, 500, RELAY_ROW_MAX_BYTES - 1)).rejects.toSatisfy(inputInvalid);
    // A pass does not stop at a batch cut by bytes: it goes on until the outbox is empty.
    expect(await relayOutbox(ft, 500, RELAY_ROW_MAX_BYTES)).toEqual({ moved: 3, batches: 2, backlog: 0 });
    expect((await tenantState(ft, tenantId)).jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
  });

  it('a row the queue tier refuses is set aside and the rest of its batch relays', async () => {
    const tenantId = await createTenant(ft);
    const first = new DatabaseTransaction({ fivetier: ft, tenantId });
    const { id: good1 } = await first.insertQueue('job_queue', { job_type: 'fine', payload: { n: 1 } });
    await first.commit();
    // The queue tier refuses this one job type (a constraint of the test's own database, added
    // NOT VALID so existing rows are not checked), as it could refuse any row for its data.
    const queueAdmin = new pg.Client({ connectionString: urls.queue });
    await queueAdmin.connect();
    try {
      await queueAdmin.query("alter table public.jobs add constraint test_refuses_poison check (job_type <> 'refused-by-queue') not valid");
    } finally {
      await queueAdmin.end();
    }
    const middle = new DatabaseTransaction({ fivetier: ft, tenantId });
    const { id: bad } = await middle.insertQueue('job_queue', { job_type: 'refused-by-queue', payload: { n: 0 } });
    await middle.commit();
    const last = new DatabaseTransaction({ fivetier: ft, tenantId });
    const { id: good2 } = await last.insertQueue('job_queue', { job_type: 'fine', payload: { n: 2 } });
    await last.commit();

    await relayOutbox(ft);
    const state = await tenantState(ft, tenantId);
    expect(state.outbox).toEqual([]);
    expect(state.jobs.map((j) => j.id).sort()).toEqual([good1, good2].sort());
    const rejected = await ft.oltp.withMaintenance((c) => c.query<{ id: string; reason: string }>('select id, reason from public.outbox_rejected where tenant_id = $1', [tenantId]));
    expect(rejected.rows).toEqual([{ id: bad, reason: expect.stringMatching(/^the queue tier refused it: .*test_refuses_poison.*\(23514\)$/) }]);
  });
});
