import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency, cleanupOrphanedData, newStorageKey, sendEmail } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { spawnScript } from '../helpers/processes.js';

/**
 * cleanupOrphanedData(key) from another process while a send is between its content commit and
 * its OLTP commit: the content stays (the email about to commit references it), the send
 * commits, and I1 holds. Content that the calling process saw orphaned still goes at once.
 */
describe('cleanupOrphanedData never deletes content an email is about to reference', () => {
  let ft: Fivetier;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  let tenantId: string;

  beforeAll(async () => {
    ({ ft, env, drop } = await openScratchFivetier('cleanup'));
    tenantId = await createTenant(ft);
  });
  afterAll(async () => drop?.());

  for (const withTenant of [false, true]) {
    it(`keeps in-flight content when another process cleans the key up${withTenant ? ' as the tenant' : ' with the key alone'}`, async () => {
      const storageKey = newStorageKey();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let reachedOltpCommit!: () => void;
      const atOltpCommit = new Promise<void>((r) => (reachedOltpCommit = r));
      const send = sendEmail(ft, { tenantId, recipient: 'ada@example.com', subject: 'hi', body: 'in flight', storageKey }, {
        beforeStep: async (step) => {
          if (step !== 'commit-oltp') return;
          reachedOltpCommit();
          await held;
        },
      });
      await atOltpCommit; // content committed, the email not yet
      const child = spawnScript('test/cross-tier/fixtures/cleanup-key.ts', withTenant ? [storageKey, tenantId] : [storageKey], env);
      const { code } = await child.ended;
      expect(code, child.output()).toBe(0);
      expect(JSON.parse(child.output().trim().split('\n').at(-1)!)).toEqual({ deleted: 0, kept: 'recent' });
      release();
      await send;
      const report = await checkConsistency(ft, { tenantId, record: false });
      expect(report.findings.I1.count).toBe(0);
      const { rows } = await ft.content.withTenant(tenantId, (c) => c.query('select content_text from public.content_objects where storage_key = $1', [storageKey]));
      expect(rows).toEqual([{ content_text: 'in flight' }]);
    });
  }

  it('in the sending process, reports a key still being written as in flight', async () => {
    const storageKey = newStorageKey();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let atCommit!: () => void;
    const reached = new Promise<void>((r) => (atCommit = r));
    const send = sendEmail(ft, { tenantId, recipient: 'bob@example.com', body: 'x', storageKey }, {
      beforeStep: async (step) => {
        if (step === 'commit-oltp') {
          atCommit();
          await held;
        }
      },
    });
    await reached;
    expect(await cleanupOrphanedData(storageKey, { fivetier: ft })).toEqual({ deleted: 0, kept: 'in-flight' });
    release();
    await send;
    expect(await cleanupOrphanedData(storageKey, { fivetier: ft })).toEqual({ deleted: 0, kept: 'referenced' });
  });

  it('deletes at once the content of a send that failed after its content commit', async () => {
    const storageKey = newStorageKey();
    // The send fails between its content commit and its OLTP commit.
    await expect(
      sendEmail(ft, { tenantId, recipient: 'carol@example.com', body: 'orphan', storageKey }, {
        beforeStep: (step) => {
          if (step === 'commit-oltp') throw new Error('the OLTP commit fails');
        },
      }),
    ).rejects.toThrow('the OLTP commit fails');
    const { rows } = await ft.content.withTenant(tenantId, (c) => c.query('select 1 from public.content_objects where storage_key = $1', [storageKey]));
    expect(rows).toEqual([]);
    expect(await cleanupOrphanedData(storageKey, { fivetier: ft })).toEqual({ deleted: 0, kept: 'absent' });
  });

  it('refuses a tenant id that is not a uuid instead of reporting a tier down', async () => {
    await expect(cleanupOrphanedData(newStorageKey(), { fivetier: ft, tenantId: 'null' })).rejects.toMatchObject({ code: 'FT_ERR_TENANT_INVALID' });
    await expect(cleanupOrphanedData(newStorageKey(), { fivetier: ft, graceSeconds: -1 })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
  });
});
