import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency, DatabaseTransaction, newStorageKey, relayOutbox, sweepOrphans } from '../../src/cross-tier/index.js';
import { addAttachment, ATTACHMENT_MAX_BYTES_DEFAULT, expireContent, getContent, listAttachments } from '../../src/content/index.js';
import { FivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import type { TxClient } from '../../src/tiers/tier-client.js';
import { contentBodyRefCount } from '../../src/tiers/content/queries/content-bodies.js';
import { contentObjectInsert } from '../../src/tiers/content/queries/content-objects.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';

const html = (label: string) => `<html><body><h1>${label}</h1>${'<p>The same paragraph, again and again.</p>'.repeat(50)}</body></html>`;

/** An email and its content through the cross-tier protocol's generic writers (content_html column). */
async function sendHtml(ft: Fivetier, tenantId: string, body: string, expiresAt: Date | null = null): Promise<{ emailId: string; key: string }> {
  const key = newStorageKey();
  const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
  try {
    const email = await tx.insertOLTP('emails', { recipient: 'r@example.com', subject: 's', content_storage_key: key });
    await tx.insertContent('content_objects', { storage_key: key, content_html: body, expires_at: expiresAt });
    await tx.commit();
    return { emailId: String(email.id), key };
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** True once a session of this database waits for a row lock (the test's second transaction); false if none does. */
async function untilLockWaiter(ft: Fivetier, tenantId: string): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    const { rows } = await ft.content.withTenant(tenantId, (c) =>
      c.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"));
    if (rows[0]!.n > 0) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

const bodyCount = (ft: Fivetier, tenantId: string) =>
  ft.content.withMaintenance(async (c) => (await c.query<{ n: number }>('select count(*)::int as n from public.content_bodies where tenant_id = $1', [tenantId])).rows[0]!.n);

describe('content tier', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ ft, drop } = await openScratchFivetier('content'));
  });
  afterAll(async () => {
    await drop();
  });

  it('stores one body for two emails with the same HTML; erasing one leaves the other readable and the check clean', async () => {
    const tenantId = await createTenant(ft);
    const body = html('shared');
    const a = await sendHtml(ft, tenantId, body);
    const b = await sendHtml(ft, tenantId, body);
    // the pipeline's writer too
    const c = newStorageKey();
    await ft.content.withTenant(tenantId, (tx) => contentObjectInsert(tx, { tenantId, storageKey: c, html: body, headers: { 'X-A': '1' } }));
    expect(await bodyCount(ft, tenantId)).toBe(1);
    const stored = await getContent(ft, tenantId, a.key);
    expect(stored?.content_html).toBe(body);
    expect(await ft.content.withTenant(tenantId, (tx) => contentBodyRefCount(tx, stored!.content_hash!))).toBe(3);
    // the rows themselves hold no copy
    const inRows = await ft.content.withMaintenance((tx) => tx.query('select 1 from public.content_objects where tenant_id = $1 and content_html is not null', [tenantId]));
    expect(inRows.rowCount).toBe(0);

    // erase email a: its email row, then its content row (the orphan sweeper's way)
    await ft.oltp.withTenant(tenantId, (tx) => tx.query('delete from public.emails where id = $1', [a.emailId]));
    await ft.content.withTenant(tenantId, (tx) => tx.query('delete from public.content_objects where storage_key = $1', [c]));
    const swept = await sweepOrphans(ft, { tenantId, graceSeconds: 0 });
    expect(swept.deleted).toBe(1);
    expect(await getContent(ft, tenantId, a.key)).toBeNull();
    expect((await getContent(ft, tenantId, b.key))?.content_html).toBe(body);
    expect(await bodyCount(ft, tenantId)).toBe(1);

    await relayOutbox(ft);
    const report = await checkConsistency(ft, { tenantId, outboxAgeSeconds: 0, orphanGraceSeconds: 0 });
    expect(report.findings).toEqual({ I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } });

    // the last reference goes: so does the body
    await ft.oltp.withTenant(tenantId, (tx) => tx.query('delete from public.emails where id = $1', [b.emailId]));
    expect((await sweepOrphans(ft, { tenantId, graceSeconds: 0 })).deleted).toBe(1);
    expect(await bodyCount(ft, tenantId)).toBe(0);
  });

  it('compresses a stored body with pglz even where the server default is lz4 (migration 0006)', async () => {
    const tenantId = await createTenant(ft);
    const body = html('compressed').repeat(8);
    const key = newStorageKey();
    const method = await ft.content.withTenant(tenantId, async (tx) => {
      await tx.query("select set_config('default_toast_compression', 'lz4', true)");
      await contentObjectInsert(tx, { tenantId, storageKey: key, html: body, headers: null });
      const { rows } = await tx.query<{ method: string; raw: number; stored: number }>(
        `select pg_column_compression(b.content_html) as method, octet_length(b.content_html) as raw, pg_column_size(b.content_html) as stored
           from public.content_objects o join public.content_bodies b using (tenant_id, content_hash) where o.storage_key = $1`, [key]);
      return rows[0]!;
    });
    expect(method.method).toBe('pglz');
    expect(method.stored).toBeLessThan(method.raw / 2);
  });

  it('keeps bodies of two tenants apart even when they are the same', async () => {
    const t1 = await createTenant(ft);
    const t2 = await createTenant(ft);
    const body = html('two tenants');
    const k1 = await sendHtml(ft, t1, body);
    await sendHtml(ft, t2, body);
    expect(await bodyCount(ft, t1)).toBe(1);
    expect(await bodyCount(ft, t2)).toBe(1);
    expect(await getContent(ft, t2, k1.key)).toBeNull();
  });

  it('never loses the body of a new row when it races the delete of the last row with the same hash', async () => {
    const tenantId = await createTenant(ft);
    const deleteOld = (key: string) => async (tx: TxClient) => {
      await tx.query('delete from public.content_objects where storage_key = $1', [key]);
    };
    const insertNew = (key: string, body: string) => (tx: TxClient) => contentObjectInsert(tx, { tenantId, storageKey: key, html: body, headers: null });
    for (const deleteFirst of [true, false]) {
      const body = html(`race, ${deleteFirst ? 'delete' : 'insert'} first`);
      const oldKey = newStorageKey();
      const newKey = newStorageKey();
      await ft.content.withTenant(tenantId, insertNew(oldKey, body));
      // The first transaction does its statement and stays open; the second then blocks on the
      // body row's lock (seen in pg_stat_activity) until the first commits.
      const [first, second] = deleteFirst ? [deleteOld(oldKey), insertNew(newKey, body)] : [insertNew(newKey, body), deleteOld(oldKey)];
      const done = gate();
      const commit = gate();
      const firstTx = ft.content.withTenant(tenantId, async (tx) => {
        await first(tx);
        done.open();
        await commit.promise;
      });
      await done.promise;
      const secondTx = ft.content.withTenant(tenantId, second);
      const waited = await untilLockWaiter(ft, tenantId);
      commit.open();
      await Promise.all([firstTx, secondTx]);
      const stored = await getContent(ft, tenantId, newKey);
      expect(stored?.content_html).toBe(body);
      expect(await getContent(ft, tenantId, oldKey)).toBeNull();
      expect(await ft.content.withTenant(tenantId, (tx) => contentBodyRefCount(tx, stored!.content_hash!))).toBe(1);
      // the two really overlapped: the second waited for the first's lock on the body row
      expect(waited).toBe(true);
    }
  });

  it('refuses an attachment past the limit and reads one under it back byte for byte', async () => {
    const tenantId = await createTenant(ft);
    const { key } = await sendHtml(ft, tenantId, html('with files'));
    const big = Buffer.alloc(ATTACHMENT_MAX_BYTES_DEFAULT + 1, 7);
    const err = await addAttachment(ft, tenantId, { storageKey: key, filename: 'big.bin', mimeType: 'application/octet-stream', content: big }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FivetierError);
    expect((err as FivetierError).code).toBe('FT_ERR_ATTACHMENT_TOO_LARGE');
    expect((err as FivetierError).status).toBe(413);
    const small = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256));
    const limited = await addAttachment(ft, tenantId, { storageKey: key, filename: 'small.bin', mimeType: 'application/octet-stream', content: small }, { maxBytes: 4095 }).catch((e: unknown) => e);
    expect((limited as FivetierError).code).toBe('FT_ERR_ATTACHMENT_TOO_LARGE');
    const id = await addAttachment(ft, tenantId, { storageKey: key, filename: 'small.bin', mimeType: 'application/octet-stream', content: small }, { maxBytes: 4096 });
    const files = await listAttachments(ft, tenantId, key);
    expect(files.map((f) => f.id)).toEqual([id]);
    expect(Buffer.compare(files[0]!.content, small)).toBe(0);
    expect(files[0]!.size_bytes).toBe(4096);
    const missing = await addAttachment(ft, tenantId, { storageKey: newStorageKey(), filename: 'x.txt', mimeType: 'text/plain', content: Buffer.from('x') }).catch((e: unknown) => e);
    expect((missing as FivetierError).code).toBe('FT_ERR_CONTENT_NOT_FOUND');
  });

  it('expires only content no email references; the dry run reports what the real run does; I1 holds', async () => {
    const tenantId = await createTenant(ft);
    const past = new Date(Date.now() - 3_600_000);
    const shared = html('expiring, shared');
    const referenced = await sendHtml(ft, tenantId, shared, past);
    const erased = await sendHtml(ft, tenantId, shared, past);
    const alone = await sendHtml(ft, tenantId, html('expiring alone'), past);
    const fresh = await sendHtml(ft, tenantId, html('not expired'), new Date(Date.now() + 3_600_000));
    await addAttachment(ft, tenantId, { storageKey: alone.key, filename: 'a.txt', mimeType: 'text/plain', content: Buffer.from('a') });
    // two of the expired emails are erased in OLTP; their content may go
    await ft.oltp.withTenant(tenantId, (tx) => tx.query('delete from public.emails where id = any($1)', [[erased.emailId, alone.emailId]]));

    const dry = await expireContent(ft, { tenantId, dryRun: true, batchSize: 2 });
    expect(dry).toMatchObject({ dryRun: true, expired: 3, deleted: 2, keptReferenced: 1 });
    expect((await getContent(ft, tenantId, erased.key))?.content_html).toBe(shared);

    const real = await expireContent(ft, { tenantId, batchSize: 2 });
    expect({ ...real, dryRun: true }).toEqual(dry);
    expect((await getContent(ft, tenantId, referenced.key))?.content_html).toBe(shared);
    expect(await getContent(ft, tenantId, erased.key)).toBeNull();
    expect(await getContent(ft, tenantId, alone.key)).toBeNull();
    expect(await listAttachments(ft, tenantId, alone.key)).toEqual([]);
    expect(await getContent(ft, tenantId, fresh.key)).not.toBeNull();
    await relayOutbox(ft);
    const report = await checkConsistency(ft, { tenantId, outboxAgeSeconds: 0, orphanGraceSeconds: 0 });
    expect(report.clean).toBe(true);
    expect(await expireContent(ft, { tenantId })).toMatchObject({ expired: 1, deleted: 0, keptReferenced: 1 });
  });
});
