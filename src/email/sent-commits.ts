/**
 * The `sent` commits of email.send, grouped: every delivery of the process that reached its held
 * dot at about the same time is recorded in one OLTP transaction per tenant (one statement: the
 * emails, and one `track_email_sent` outbox row per campaign; one more row, `{email_ids}` without
 * a campaign, for the group's single sends), instead of one transaction per email. Each caller still writes its dot only after the transaction holding its email
 * committed, so the guarantee of email.send is unchanged; a failed transaction fails every
 * delivery in it, and each of them drops its connection before the dot.
 */
import type { JobDefinition } from '../jobs/registry.js';
import type { Fivetier } from '../platform.js';
import { emailsRecordSent } from '../tiers/oltp/queries/campaign-emails.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';

/** Only these statements run in the transaction: no session reset after it. Synchronous: the dot follows it. */
const OWN_STATEMENTS = Object.freeze({ ownStatementsOnly: true });
/** Emails one grouped commit takes at most (the outbox payload stays small). */
const GROUP_MAX = 200;
/** Grouped commits in flight at once (each holds an OLTP connection). */
const IN_FLIGHT_MAX = 4;

interface Pending {
  tenantId: string;
  emailId: string;
  token: string;
  storageKey: string | null;
  subject: string | null;
  /** A single send (no campaign): emailsRecordSent queues tracking for campaign emails only. */
  single: boolean;
  resolve: (kept: boolean) => void;
  reject: (err: unknown) => void;
}

export class SentCommits {
  readonly #ft: Fivetier;
  readonly #track: JobDefinition;
  #pending: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(ft: Fivetier, track: JobDefinition) {
    this.#ft = ft;
    this.#track = track;
  }

  /**
   * `sending` -> `sent` for the email if `token` still holds its claim, with its
   * `track_email_sent` outbox row and, when given, the key of its body (stored in the content
   * tier before) and its subject; resolves once committed: true if recorded, false if the claim
   * was lost. Rejects when the transaction failed (nothing of it committed).
   */
  record(tenantId: string, emailId: string, token: string, content?: { storageKey: string; subject: string }, single = false): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ tenantId, emailId, token, storageKey: content?.storageKey ?? null, subject: content?.subject ?? null, single, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= IN_FLIGHT_MAX || this.#pending.length === 0) return;
    this.#scheduled = true;
    // why: the next turn of the event loop, so deliveries that reach their dot together commit together
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= IN_FLIGHT_MAX || this.#pending.length === 0) return;
    const group = this.#pending.splice(0, GROUP_MAX);
    this.#inFlight++;
    try {
      const byTenant = new Map<string, Pending[]>();
      for (const p of group) byTenant.set(p.tenantId, [...(byTenant.get(p.tenantId) ?? []), p]);
      await Promise.all([...byTenant].map(([tenantId, items]) => this.#commit(tenantId, items)));
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }

  async #commit(tenantId: string, items: Pending[]): Promise<void> {
    try {
      const t = this.#track;
      const kept = new Set(
        await this.#ft.oltp.withTenant(
          tenantId,
          async (c) => {
            const recorded = await emailsRecordSent(c, { tenantId, items, queue: t.queue, jobType: t.type, priority: t.priority });
            const mine = new Set(recorded);
            // why: in the transaction of `sent`, so a single send's tracking exists exactly when it is sent
            const singles = items.filter((p) => p.single && mine.has(p.emailId)).map((p) => p.emailId);
            if (singles.length > 0) await outboxInsert(c, { tenantId, queueName: t.queue, jobType: t.type, payload: { email_ids: singles }, priority: t.priority, runAt: new Date() });
            return recorded;
          },
          OWN_STATEMENTS,
        ),
      );
      for (const p of items) p.resolve(kept.has(p.emailId));
    } catch (err) {
      for (const p of items) p.reject(err);
    }
  }
}
