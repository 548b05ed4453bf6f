import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Only the imports are adapted; the function below is the seed's code as written.
import { DatabaseTransaction, cleanupOrphanedData, newStorageKey, relayOutbox, setDefaultFivetier, type EmailData } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier, tenantState } from '../helpers/cross-tier.js';

// ---- seed: "Cross-Tier Integration Patterns" / "Data Flow Without Foreign Keys" (verbatim) ----
async function sendEmail(emailData: EmailData) {
    const transaction = new DatabaseTransaction();

    try {
        // 1. Store metadata in OLTP
        const emailRecord = await transaction.insertOLTP('emails', {
            tenant_id: emailData.tenantId,
            recipient: emailData.recipient,
            subject: emailData.subject,
            content_storage_key: emailData.storageKey
        });

        // 2. Store content in Content DB
        await transaction.insertContent('content_objects', {
            storage_key: emailData.storageKey,
            content_text: emailData.body,
            tenant_id: emailData.tenantId
        });

        // 3. Queue analytics job
        await transaction.insertQueue('job_queue', {
            job_type: 'track_email_sent',
            payload: { email_id: emailRecord.id },
            scheduled_at: new Date()
        });

        await transaction.commit();

    } catch (error) {
        await transaction.rollback();
        await cleanupOrphanedData(emailData.storageKey);
        throw error;
    }
}
// ---- end of seed code ----

describe("the seed's sendEmail, run as written", () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ ft, drop } = await openScratchFivetier('seed'));
    setDefaultFivetier(ft);
  });
  afterAll(async () => {
    setDefaultFivetier(undefined);
    await drop();
  });

  it('writes the email row, its content under the storage key, and after the relay the track_email_sent job', async () => {
    const tenantId = await createTenant(ft);
    const storageKey = newStorageKey();
    await sendEmail({ tenantId, recipient: 'ada@example.com', subject: 'Hello', storageKey, body: 'Hello, Ada.' });

    let state = await tenantState(ft, tenantId);
    expect(state.emails).toHaveLength(1);
    const email = state.emails[0]!;
    expect(email).toMatchObject({ recipient: 'ada@example.com', subject: 'Hello', status: 'queued', content_storage_key: storageKey });
    expect(state.content).toEqual([{ storage_key: storageKey, content_text: 'Hello, Ada.' }]);
    expect(state.outbox).toHaveLength(1); // not yet a job: the relay has not run
    expect(state.jobs).toHaveLength(0);

    await relayOutbox(ft);
    state = await tenantState(ft, tenantId);
    expect(state.outbox).toHaveLength(0);
    expect(state.jobs).toHaveLength(1);
    expect(state.jobs[0]).toMatchObject({ job_type: 'track_email_sent', queue_name: 'analytics', status: 'queued', payload: { email_id: email.id } });
  });

  it('leaves nothing behind when a step fails (recipient too long for the OLTP column)', async () => {
    const tenantId = await createTenant(ft);
    const storageKey = newStorageKey();
    // A recipient longer than varchar(254) makes the OLTP insert fail inside the seed's try.
    await expect(sendEmail({ tenantId, recipient: 'x'.repeat(300), subject: 's', storageKey, body: 'b' })).rejects.toThrow();
    const state = await tenantState(ft, tenantId);
    expect(state).toEqual({ emails: [], content: [], jobs: [], outbox: [] });
  });
});
