/**
 * The `email.send` job: a group of a campaign's emails (`{email_ids}`, up to 100; or one,
 * `{email_id}`, e.g. a single send of the API), each from `queued` to `sent` (or `suppressed`,
 * `failed`), delivered at most once per run and never by two runs at once. The job works
 * through its emails a few at a time:
 *
 * 1. Send rate: a token per email from the tenant's bucket, before the claim, so a claim never
 *    waits for the rate.
 * 2. Claim: queued -> sending with a token of this run, for the job's timeout (one OLTP
 *    statement for the few). A claim of a run that died is taken over once its time is up; a
 *    live claim makes this job retry later (after finishing the others).
 * 3. Skip suppressed addresses.
 * 4. Render the template with the lead's variables and store the bodies in the content tier
 *    (one statement); their keys go into OLTP with `sent` (content first: the ordered protocol).
 *    An email without a campaign (a single send) is not rendered: its subject is the email's and
 *    its body the one stored under its key when the send was asked for (./single-body.ts).
 * 5. Deliver over SMTP with the terminating dot held back (transport.deliverAfterCommit): MAIL
 *    FROM, RCPT TO, DATA and the whole message; then sent (with the body's key) + a
 *    `track_email_sent` outbox row in an OLTP transaction (grouped with other deliveries that reached their dot at the same time:
 *    SentCommits); only then the `<CRLF>.<CRLF>` that makes the server deliver. Message-ID
 *    `<email id@fivetier>`.
 * Then the campaign completes if these were its last emails. A job that used half its time hands
 * the emails it did not reach to a new job.
 *
 * The one window: a crash after the OLTP commit and before the dot reached the server. The email
 * is `sent` and no message arrives: a loss, never a duplicate. A crash before the commit delivers
 * nothing (the server discards a message whose DATA did not end) and a later run sends it once.
 * Each email has its own outcome: one that fails for a passing reason is given back (`queued`)
 * and the job retries; its retry finds the others done and leaves them alone.
 * docs/pipeline.md has the whole account.
 */
import { randomUUID } from 'node:crypto';
import { completeCampaignIfDone } from '../campaigns/process-campaign.js';
import { newStorageKey } from '../cross-tier/storage-key.js';
import { FivetierError } from '../errors/codes.js';
import { BUILT_IN_JOBS, JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import type { JobHandler } from '../queue/worker.js';
import { contentObjectInsertMany } from '../tiers/content/queries/content-objects.js';
import { emailRefusedAfterSent } from '../tiers/oltp/queries/email-refused.js';
import { emailClaimForSendMany, emailFinishSendMany, emailsClaimedLive, type EmailToSend } from '../tiers/oltp/queries/campaign-emails.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';
import { trackMessage } from '../tracking/outgoing.js';
import { isUuid } from '../types.js';
import { compileTemplate, renderEmail, type CompiledTemplate, type RenderedEmail } from './render.js';
import { SendRateLimiter } from './send-rate.js';
import { loadSingleBodies } from './single-body.js';
import { SentCommits } from './sent-commits.js';
import { deliveryStageOf, type MailTransport } from './transport.js';

/** Emails one email.send job carries at most. */
export const SEND_JOB_EMAILS_MAX = 100;
/** Emails one job claims and delivers at once. */
export const SEND_JOB_CHUNK = 20;

/** The send path's transactions run only its own statements: no session reset after them. */
const OWN = Object.freeze({ ownStatementsOnly: true });
/**
 * Claims (and claims given back) may commit without waiting for the WAL flush: a server crash
 * that loses one puts the email back where it was, and no message goes out on the lost claim,
 * since `sent` (synchronous, later in the WAL) checks this run's claim before the dot.
 */
const OWN_ASYNC = Object.freeze({ ownStatementsOnly: true, asyncCommit: true });

export interface SendJobOptions {
  transport: MailTransport;
  /** Sender when the campaign names none. */
  defaultFrom: string;
  /** Test signal, awaited after the SMTP server accepted a message (after the terminating dot). */
  afterDelivery?: (emailId: string) => void | Promise<void>;
  /** Test signal, awaited once the server has the whole message but the dot, before the OLTP `sent` commit. */
  beforeCommit?: (emailId: string) => void | Promise<void>;
  /** Test signal, awaited after the OLTP `sent` commit, before the terminating dot is written. */
  afterCommit?: (emailId: string) => void | Promise<void>;
}

/** A lasting SMTP refusal (5xx): the email fails; anything else is retried. */
function permanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown })?.responseCode;
  return typeof code === 'number' && code >= 500;
}

/** The email ids of an email.send payload: `{email_id}` or `{email_ids: [...]}`. */
function emailIdsOf(payload: unknown): string[] {
  const p = payload as { email_id?: unknown; email_ids?: unknown } | null;
  if (p?.email_ids !== undefined) {
    const ids = p.email_ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > SEND_JOB_EMAILS_MAX || !ids.every(isUuid)) {
      throw new FivetierError('FT_ERR_INPUT_INVALID', [`email.send: payload.email_ids must be 1..${SEND_JOB_EMAILS_MAX} uuids`]);
    }
    return [...new Set(ids as string[])];
  }
  if (!isUuid(p?.email_id)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['email.send: payload.email_id must be a uuid']);
  return [p.email_id];
}

export function sendEmailHandler(ft: Fivetier, options: SendJobOptions): JobHandler {
  const definition = BUILT_IN_JOBS.get(JOB_TYPES.emailSend)!;
  const limiter = new SendRateLimiter(ft);
  const sentCommits = new SentCommits(ft, BUILT_IN_JOBS.get(JOB_TYPES.trackEmailSent)!);
  const templates = new Map<string, CompiledTemplate>();
  const compiled = (e: EmailToSend): CompiledTemplate => {
    const key = `${e.tenant_id}:${e.template_id}:${e.template_updated_at?.getTime()}`;
    let t = templates.get(key);
    if (!t) {
      t = compileTemplate({ subject: e.template_subject, content: e.template_content });
      if (templates.size > 1_000) templates.clear();
      templates.set(key, t);
    }
    return t;
  };

  /**
   * Claim, render, store and deliver a few emails. Returns the campaigns touched and, when some
   * email must be tried again (a passing failure, or another run's live claim), the error to
   * retry the job with.
   */
  const sendChunk = async (tenantId: string, emailIds: string[]): Promise<{ campaigns: Set<string>; retry?: unknown }> => {
    const token = randomUUID();
    const campaigns = new Set<string>();
    let retry: unknown;
    const claimed = await ft.oltp.withTenant(tenantId, (c) => emailClaimForSendMany(c, { emailIds, token, claimSeconds: definition.timeoutMs / 1000 }), OWN_ASYNC);
    if (claimed.length < emailIds.length) {
      const mine = new Set(claimed.map((e) => e.id));
      const others = emailIds.filter((id) => !mine.has(id));
      // why: another run holds the claim; retrying later settles on its outcome (or takes over a dead one).
      // The rest are sent, failed or suppressed already; deleted; or their campaign is paused (resuming queues them again)
      if ((await ft.oltp.withTenant(tenantId, (c) => emailsClaimedLive(c, others), OWN)).length > 0) retry = new Error('another run is sending an email of this job; retrying once its claim settles');
    }
    for (const e of claimed) if (e.campaign_id) campaigns.add(e.campaign_id);
    /** Outcomes in OLTP (one statement); `queued` gives the claims back. */
    const finish = async (status: 'failed' | 'suppressed' | 'queued', ids: string[]) => {
      if (ids.length === 0) return;
      await ft.oltp.withTenant(tenantId, (c) => emailFinishSendMany(c, { status, items: ids.map((emailId) => ({ emailId, token })) }), status === 'queued' ? OWN_ASYNC : OWN);
    };
    const giveBack = async (ids: string[], err: unknown) => {
      retry ??= err;
      await finish('queued', ids).catch(() => {}); // the claims run out by themselves otherwise
    };

    // why: the claim read the suppression list in its own transaction: no extra round trip per email
    await finish('suppressed', claimed.filter((e) => e.suppressed).map((e) => e.id));
    const toSend: Array<{ email: EmailToSend; rendered: RenderedEmail & { text?: string }; single: boolean }> = [];
    // A single send (no campaign) has nothing to render: its body is in the content tier already.
    const singles = claimed.filter((e) => !e.suppressed && e.campaign_id === null);
    if (singles.length > 0) {
      let bodies: Awaited<ReturnType<typeof loadSingleBodies>> | undefined;
      try {
        bodies = await loadSingleBodies(ft, tenantId, singles);
      } catch (err) {
        await giveBack(singles.map((e) => e.id), err);
      }
      if (bodies) {
        const gone: string[] = [];
        for (const email of singles) {
          const body = bodies.get(email.id);
          if (body) toSend.push({ email, rendered: body, single: true });
          else gone.push(email.id);
        }
        // why: a body that is gone (expired, erased) never comes back: retrying cannot send it
        await finish('failed', gone);
      }
    }
    for (const email of claimed) {
      if (email.suppressed || email.campaign_id === null) continue;
      try {
        toSend.push({ email, rendered: await renderEmail(compiled(email), { name: email.lead_name ?? '', email: email.recipient, company: email.lead_company ?? '' }), single: false });
      } catch (err) {
        await giveBack([email.id], err);
      }
    }
    if (toSend.length === 0) return { campaigns, retry };

    // The bodies first; their keys go into OLTP with `sent` (the ordered protocol: content commits
    // first). A run that dies in between leaves orphan bodies for the sweeper, never a dangling
    // key. A retry reuses a body already recorded.
    const bodies = new Map<string, { storageKey: string; subject: string }>();
    const fresh = toSend.filter((s) => !s.email.content_storage_key).map((s) => ({ emailId: s.email.id, storageKey: newStorageKey(), html: s.rendered.html, subject: s.rendered.subject }));
    if (fresh.length > 0) {
      try {
        await ft.content.withTenant(tenantId, (c) => contentObjectInsertMany(c, tenantId, fresh), OWN);
      } catch (err) {
        await giveBack(toSend.map((s) => s.email.id), err);
        return { campaigns, retry };
      }
      for (const f of fresh) bodies.set(f.emailId, { storageKey: f.storageKey, subject: f.subject });
    }
    const deliver = toSend;

    const failed: string[] = [];
    const again: string[] = [];
    await Promise.all(
      deliver.map(async ({ email, rendered, single }) => {
        // Open pixel, tracked links, one-click unsubscribe headers (src/tracking/outgoing.ts); the content tier keeps the body as rendered.
        const message = trackMessage(ft.config, tenantId, {
          id: email.id, from: email.from_address ?? options.defaultFrom, to: email.recipient, subject: rendered.subject, html: rendered.html,
          ...(rendered.text === undefined ? {} : { text: rendered.text }),
        });
        try {
          await options.transport.deliverAfterCommit(message, async () => {
            await options.beforeCommit?.(email.id);
            // why: `sent` commits before the dot, so no crash can deliver the message and leave it unrecorded
            if (!(await sentCommits.record(tenantId, email.id, token, bodies.get(email.id), single))) throw new Error('the send claim was lost before the email was recorded');
            await options.afterCommit?.(email.id);
          });
        } catch (err) {
          if (deliveryStageOf(err) === 'after-commit') {
            // The server answered the dot with a refusal (rare: it accepted the envelope and the
            // data). The email is `sent` already; a second transaction turns it `failed`. Without an
            // answer (connection lost after the dot) it may have been delivered: it stays `sent`.
            if (typeof (err as { responseCode?: unknown }).responseCode === 'number') {
              await ft.oltp.withTenant(tenantId, (c) => emailRefusedAfterSent(c, email.id), OWN);
            }
            return;
          }
          if (permanent(err)) failed.push(email.id);
          else {
            again.push(email.id);
            retry ??= err;
          }
          return;
        }
        await options.afterDelivery?.(email.id);
      }),
    );
    await finish('failed', failed);
    if (again.length > 0) await giveBack(again, retry);
    return { campaigns, retry };
  };

  return async (job) => {
    const emailIds = emailIdsOf(job.payload);
    const tenantId = job.tenantId;
    const started = performance.now();
    // why: the claims of a chunk last the job's timeout; past half of it the rest goes to a new job
    const budgetMs = definition.timeoutMs / 2;
    const overBudget = () => performance.now() - started > budgetMs;
    const campaigns = new Set<string>();
    let retry: unknown;
    let next = 0;
    while (next < emailIds.length) {
      if (job.signal.aborted) throw job.signal.reason;
      if (next > 0 && overBudget()) {
        const rest = emailIds.slice(next);
        await ft.oltp.withTenant(tenantId, (c) => outboxInsert(c, { tenantId, queueName: definition.queue, jobType: definition.type, payload: { email_ids: rest }, priority: definition.priority, runAt: new Date() }), OWN);
        break;
      }
      const chunk: string[] = [];
      do {
        await limiter.take(tenantId, job.signal);
        chunk.push(emailIds[next++]!);
      } while (chunk.length < SEND_JOB_CHUNK && next < emailIds.length && !overBudget());
      const r = await sendChunk(tenantId, chunk);
      for (const k of r.campaigns) campaigns.add(k);
      retry ??= r.retry;
    }
    for (const k of campaigns) await completeCampaignIfDone(ft, tenantId, k);
    if (retry !== undefined) throw retry;
  };
}
