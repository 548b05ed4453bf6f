import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseTransaction, OutboxRelay, relayBatch, relayOutbox, sendEmail } from '../../src/cross-tier/index.js';
import { isFivetierError } from '../../src/errors/codes.js';
import { outboxBacklog } from '../../src/ops/metrics.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { createTenant, openScratchFivetier, tenantState } from '../helpers/cross-tier.js';
import { testConfig } from '../helpers/platform.js';

describe('outbox relay', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  let urls: Record<TierName, string>;
  beforeAll(async () => {
    ({ ft, drop, urls } = await openScratchFivetier('relay'));
  });
  afterAll(async () => {
    await drop();
  });

  it('is woken by the commit (LISTEN) and moves the row into jobs with the same id and run_at', async () => {
    const tenantId = await createTenant(ft);
    // Other test files commit outbox rows meanwhile, so wait pass by pass until ours moved.
    let nextPass!: () => void;
    let pass = new Promise<void>((r) => (nextPass = r));
    // A poll interval far longer than the test: only the notification can wake it in time.
    let listening!: () => void;
    const isListening = new Promise<void>((r) => (listening = r));
    const relay = new OutboxRelay(ft, { pollIntervalMs: 60_000, onPass: () => nextPass(), onListening: () => listening() });
    relay.start();
    try {
      await Promise.all([pass, isListening]); // the first pass has run and LISTEN is set up
      const runAt = new Date(Date.now() + 3_600_000);
      const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
      await tx.insertOLTP('emails', { recipient: 'a@example.com' });
      const job = await tx.insertQueue('job_queue', { job_type: 'custom_thing', payload: { n: 1 }, scheduled_at: runAt, priority: 40 });
      const started = Date.now();
      await tx.commit();
      for (;;) {
        pass = new Promise<void>((r) => (nextPass = r)); // armed before looking, so no pass is missed
        if ((await tenantState(ft, tenantId)).jobs.length > 0) break;
        await pass;
      }
      expect(Date.now() - started).toBeLessThan(10_000);
      const state = await tenantState(ft, tenantId);
      expect(state.outbox).toEqual([]);
      expect(state.jobs).toEqual([expect.objectContaining({ id: job.id, queue_name: 'default', job_type: 'custom_thing', status: 'queued', run_at: runAt })]);
    } finally {
      await relay.stop();
    }
  });

  it('is idempotent: a row relayed twice (outbox delete lost) is still one job', async () => {
    const tenantId = await createTenant(ft);
    await sendEmail(ft, { tenantId, recipient: 'a@example.com', body: 'x' });
    const [row] = (await ft.oltp.withMaintenance((c) => c.query('select * from outbox where tenant_id = $1', [tenantId]))).rows;
    await relayOutbox(ft);
    // Put the outbox row back, as if the relay crashed after the queue commit, before the delete.
    await ft.oltp.withMaintenance((c) =>
      c.query('insert into outbox (tenant_id, id, queue_name, job_type, payload, priority, run_at, created_at) values ($1,$2,$3,$4,$5,$6,$7,$8)', [
        row.tenant_id, row.id, row.queue_name, row.job_type, row.payload, row.priority, row.run_at, row.created_at,
      ]),
    );
    await relayOutbox(ft);
    const state = await tenantState(ft, tenantId);
    expect(state.outbox).toEqual([]);
    expect(state.jobs.map((j) => j.id)).toEqual([row.id]);
  });

  it('shares the work between concurrent relays without duplicates (SKIP LOCKED)', async () => {
    const tenantId = await createTenant(ft);
    const sent = [];
    for (let i = 0; i < 40; i++) sent.push(await sendEmail(ft, { tenantId, recipient: `r${i}@example.com`, body: 'x' }));
    const counts = await Promise.all([0, 1, 2, 3].map(async () => {
      let n = 0;
      for (let i = 0; i < 30; i++) n += await relayBatch(ft, 5);
      return n;
    }));
    await relayOutbox(ft);
    const state = await tenantState(ft, tenantId);
    expect(state.outbox).toEqual([]);
    expect(state.jobs.map((j) => j.id).sort()).toEqual(sent.map((s) => s.jobId).sort());
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0);
    expect((await outboxBacklog.get()).values[0]?.value).toBeGreaterThanOrEqual(0);
  });

  it('keeps the outbox and fails fast with FT_ERR_TIER_UNAVAILABLE while the queue tier is unreachable', async () => {
    const tenantId = await createTenant(ft);
    await sendEmail(ft, { tenantId, recipient: 'a@example.com', body: 'x' });
    const tiers = Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t] }])) as never;
    const deadQueue = await openFivetier({ config: testConfig({ tiers: { ...(tiers as object), queue: { url: 'postgresql://postgres@127.0.0.1:1/nowhere' } } }), migrate: false });
    try {
      const err = await relayOutbox(deadQueue).catch((e) => e);
      expect(isFivetierError(err, 'FT_ERR_TIER_UNAVAILABLE')).toBe(true);
      expect((await tenantState(ft, tenantId)).outbox).toHaveLength(1);
    } finally {
      await deadQueue.close();
    }
    await relayOutbox(ft);
    expect((await tenantState(ft, tenantId)).jobs).toHaveLength(1);
  });

  it('refuses rows of two tenants in one transaction', async () => {
    const a = await createTenant(ft);
    const b = await createTenant(ft);
    const tx = new DatabaseTransaction({ fivetier: ft });
    await tx.insertOLTP('emails', { tenant_id: a, recipient: 'a@example.com' });
    const err = await tx.insertContent('content_objects', { tenant_id: b, storage_key: 'k'.repeat(24) }).catch((e) => e);
    expect(isFivetierError(err, 'FT_ERR_TENANT_MISMATCH')).toBe(true);
    await tx.rollback();
    expect((await tenantState(ft, a)).emails).toEqual([]);
  });

  it('treats table and column names as identifiers checked against the catalog (no SQL injection)', async () => {
    const tenantId = await createTenant(ft);
    for (const [table, row, code] of [
      ['emails; drop table emails; --', { recipient: 'x' }, 'FT_ERR_CROSS_TABLE_UNKNOWN'],
      ['outbox', { job_type: 'x' }, 'FT_ERR_CROSS_TABLE_UNKNOWN'],
      ['emails', { 'recipient) values (1); drop table emails; --': 'x' }, 'FT_ERR_CROSS_COLUMN_UNKNOWN'],
    ] as const) {
      const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
      const err = await tx.insertOLTP(table, row).catch((e) => e);
      expect(isFivetierError(err, code)).toBe(true);
      await tx.rollback();
    }
    const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
    const email = await tx.insertOLTP('emails', { recipient: "o'brien@example.com", subject: "'); drop table emails; --" });
    await tx.commit();
    expect(email.subject).toBe("'); drop table emails; --");
  });
});
