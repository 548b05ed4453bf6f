import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency, newStorageKey, relayOutbox, sendEmail, sweepOrphans } from '../../src/cross-tier/index.js';
import { consistencyFindings, consistencyRuns } from '../../src/ops/metrics.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier, tenantState } from '../helpers/cross-tier.js';

async function sendSome(ft: Fivetier, tenantId: string, n: number) {
  const sent = [];
  for (let i = 0; i < n; i++) sent.push(await sendEmail(ft, { tenantId, recipient: `r${i}@example.com`, subject: `s${i}`, body: `body ${i}` }));
  return sent;
}

describe('consistency checker', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ ft, drop } = await openScratchFivetier('check'));
  });
  afterAll(async () => {
    await drop();
  });

  it('reports nothing for a clean tenant', async () => {
    const tenantId = await createTenant(ft);
    await sendSome(ft, tenantId, 25);
    await relayOutbox(ft);
    const report = await checkConsistency(ft, { tenantId, outboxAgeSeconds: 0, orphanGraceSeconds: 0, batchSize: 7 });
    expect(report.clean).toBe(true);
    expect(report.scanned.emails).toBe(25);
    expect(report.scanned.content).toBe(25);
    expect(report.findings).toEqual({ I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } });
  });

  it('finds every planted inconsistency: a deleted content row (I1), a stuck outbox row (I2), an orphan (I3)', async () => {
    const tenantId = await createTenant(ft);
    const sent = await sendSome(ft, tenantId, 20);
    await relayOutbox(ft);
    const runsBefore = (await consistencyRuns.get()).values.find((v) => v.labels.result === 'findings')?.value ?? 0;

    // I1: delete two content rows by hand
    const dangling = [sent[3]!, sent[11]!];
    await ft.content.withTenant(tenantId, (c) => c.query('delete from content_objects where storage_key = any($1)', [dangling.map((s) => s.storageKey)]));
    // I2: an outbox row an hour old that no relay moved. Relays in other test files run
    // meanwhile; a row lock held until the end keeps them off it (they SKIP LOCKED).
    const stuck = await ft.oltp.withTenant(tenantId, (c) =>
      c.query<{ id: string }>("insert into outbox (tenant_id, job_type, payload, created_at) values ($1, 'track_email_sent', '{}', now() - interval '1 hour') returning id", [tenantId]),
    );
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = ft.oltp.withMaintenance(async (c) => {
      await c.query('select 1 from outbox where id = $1 for update', [stuck.rows[0]!.id]);
      locked();
      await released;
      await c.query('delete from outbox where id = $1', [stuck.rows[0]!.id]);
    });
    await isLocked;
    // I3: content that no email references, two hours old
    const orphanKey = newStorageKey();
    await ft.content.withTenant(tenantId, (c) =>
      c.query("insert into content_objects (tenant_id, storage_key, content_text, created_at) values ($1, $2, 'lost', now() - interval '2 hours')", [tenantId, orphanKey]),
    );

    const report = await checkConsistency(ft, { tenantId, outboxAgeSeconds: 300, orphanGraceSeconds: 3600, batchSize: 6 });
    release();
    await holder;
    expect(report.clean).toBe(false);
    expect(report.findings.I1.count).toBe(2);
    expect(report.findings.I1.samples.map((s) => s.storage_key).sort()).toEqual(dangling.map((s) => s.storageKey).sort());
    expect(report.findings.I1.samples.map((s) => s.email_id).sort()).toEqual(dangling.map((s) => s.emailId).sort());
    expect(report.findings.I2.count).toBe(1);
    expect(report.findings.I2.samples[0]).toMatchObject({ outbox_id: stuck.rows[0]!.id, job_exists: false });
    expect(report.findings.I3.count).toBe(1);
    expect(report.findings.I3.samples[0]).toMatchObject({ storage_key: orphanKey });

    // The metric and the admin event record the failure.
    expect((await consistencyFindings.get()).values.find((v) => v.labels.invariant === 'I1')?.value).toBe(2);
    expect((await consistencyRuns.get()).values.find((v) => v.labels.result === 'findings')?.value).toBe(runsBefore + 1);
    const events = await ft.notifications.withMaintenance((c) =>
      c.query("select severity, details from admin_system_events where event_type = 'consistency_check_failed' and details->>'tenant_id' = $1", [tenantId]),
    );
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]).toMatchObject({ severity: 'critical', details: { counts: { I1: 2, I2: 1, I3: 1 } } });

    // A fresh orphan inside the grace period is not reported; the sweeper removes the old one.
    const swept = await sweepOrphans(ft, { tenantId, graceSeconds: 3600 });
    expect(swept.deleted).toBe(1);
    expect((await tenantState(ft, tenantId)).content.map((c) => c.storage_key)).not.toContain(orphanKey);
  });

  it('scans all tenants when none is given, and other tenants do not leak into a tenant scan', async () => {
    const a = await createTenant(ft);
    const b = await createTenant(ft);
    await sendSome(ft, a, 3);
    await sendSome(ft, b, 4);
    const key = newStorageKey();
    await ft.content.withTenant(b, (c) => c.query("insert into content_objects (tenant_id, storage_key, created_at) values ($1, $2, now() - interval '2 hours')", [b, key]));
    const onlyA = await checkConsistency(ft, { tenantId: a, orphanGraceSeconds: 3600, record: false });
    expect(onlyA.clean).toBe(true);
    expect(onlyA.scanned.emails).toBe(3);
    const all = await checkConsistency(ft, { orphanGraceSeconds: 3600, outboxAgeSeconds: 3600, record: false });
    expect(all.scanned.emails).toBeGreaterThanOrEqual(7);
    expect(all.findings.I3.samples.map((s) => s.storage_key)).toContain(key);
    await sweepOrphans(ft, { tenantId: b, graceSeconds: 3600 });
  });
});
