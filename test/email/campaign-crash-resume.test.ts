import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign, createTemplate, importLeads, pauseCampaign, startCampaign, suppressAddress } from '../../src/campaigns/campaigns.js';
import { checkConsistency } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { freePort, spawnCli, waitForOutput, type TestChild } from '../helpers/processes.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Must-show 8: a campaign of 2,000 leads, paused and resumed, and the service (`fivetier start`,
 * a child process) SIGKILLed and restarted twice mid-campaign. Counted at the SMTP server (a
 * real one, in this process): every lead that is not suppressed receives exactly one message,
 * and the campaign is `completed` only once every email has an outcome.
 *
 * The one window (docs/pipeline.md): a crash after the OLTP commit of `sent` and before the
 * terminating dot reaches the server loses that email, by design (at most once: never a
 * duplicate). A SIGKILL at a random instant can land there, so each kill here is placed outside
 * it, and the test checks that it is: the service is frozen (SIGSTOP), and it is killed only if
 * every email OLTP holds as `sent` has arrived at the server, i.e. no run stands between its
 * commit and its dot (a commit in flight at the freeze shows as `sent` without its message, so it
 * counts as inside). Otherwise it is let go on (SIGCONT) and frozen again a moment later. Every
 * other point of a send is a fair target: the kill lands wherever the frozen runs stood (before
 * the claim, mid-render, mid-DATA with the dot held back, after the dot), and the sink counts the
 * partial messages it discarded.
 */
const LEADS = 2_000;
/** Every 97th lead is on the suppression list before the start. */
const SUPPRESSED = new Set(Array.from({ length: Math.ceil(LEADS / 97) }, (_, i) => i * 97));
/** Sends per second of the tenant's plan: the campaign lasts long enough to pause and crash it twice. */
const RATE = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ft: Fivetier;
let drop: () => Promise<void>;
let tierEnv: Record<string, string>;
let sink: SmtpSink;
let service: TestChild | undefined;
const logs: string[] = [];

beforeAll(async () => {
  ({ ft, drop, env: tierEnv } = await openScratchFivetier('crash_resume', { redisUrl: undefined }));
  sink = await SmtpSink.start();
});
afterAll(async () => {
  if (service && service.exitCode === null && service.signalCode === null) {
    service.kill('SIGKILL');
    await service.ended;
  }
  await sink?.close();
  await drop?.();
});

/** `fivetier start` in a child process, delivering to the sink; resolves once it listens. */
async function startServiceProcess(): Promise<TestChild> {
  const env = { ...tierEnv, SMTP_URL: sink.url, FIVETIER_MAIL_FROM: 'campaigns@example.com', FIVETIER_HTTP_PORT: String(await freePort()) };
  const child = spawnCli(['start'], env);
  await waitForOutput(child, /listening on/, 90_000);
  return child;
}

/** Email ids whose message the sink accepted (Message-ID `<email id@fivetier>`). */
function receivedIds(): Set<string> {
  return new Set(sink.messages.map((m) => /^<([0-9a-f-]{36})@fivetier>$/.exec(m.messageId ?? '')?.[1]).filter((id): id is string => id !== undefined));
}

/**
 * SIGKILL the service at a moment when no run is inside the one window (see above). Returns how
 * many freezes found a run inside it and were let go.
 */
async function killOutsideTheWindow(child: TestChild, tenantId: string, campaignId: string): Promise<number> {
  for (let letGo = 0; ; letGo++) {
    process.kill(child.pid!, 'SIGSTOP');
    // why: bytes the service wrote before the freeze (a dot among them) still reach the sink
    await sleep(300);
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ id: string }>("select id from public.emails where campaign_id = $1 and status = 'sent'", [campaignId]));
    const received = receivedIds();
    if (rows.every((r) => received.has(r.id))) {
      child.kill('SIGKILL');
      expect((await child.ended).signal).toBe('SIGKILL');
      logs.push(child.output());
      return letGo;
    }
    process.kill(child.pid!, 'SIGCONT');
    await sleep(20 + Math.floor(Math.random() * 80));
  }
}

describe('a 2,000-lead campaign paused, resumed, and its service SIGKILLed twice', () => {
  it('delivers exactly one message per lead that is not suppressed, and completes only once every email has an outcome', { timeout: 420_000 }, async () => {
    const tenantId = await createTenant(ft);
    const planId = randomUUID();
    await ft.oltp.withMaintenance((c) => c.query("insert into public.plans (id, name, slug, send_rate_per_second) values ($1, 'Crash test', $2, $3)", [planId, `crash-${planId}`, RATE]));
    await ft.oltp.withTenant(tenantId, (c) => c.query("insert into public.subscriptions (tenant_id, plan_id, status) values ($1, $2, 'active')", [tenantId, planId]));
    const template = await createTemplate(ft, tenantId, { name: 'crash', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }} of {{ company }}</p>' });
    const leads = Array.from({ length: LEADS }, (_, i) => ({ email: `lead${i}@example.com`, name: `Lead ${i}`, company: `Company ${i % 13}` }));
    const leadIds = await importLeads(ft, tenantId, leads);
    for (const i of SUPPRESSED) await suppressAddress(ft, tenantId, `lead${i}@example.com`, 'unsubscribe');
    const campaign = await createCampaign(ft, tenantId, { name: 'crash and resume', templateId: template.id, leadIds });

    // Every 100 ms, in one snapshot: the campaign's status and how many of its emails have no
    // outcome yet. `completed` beside an email without one (or before every lead has its email)
    // is a violation.
    const violations: string[] = [];
    let completedSeen = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const { rows } = await ft.oltp.withTenant(tenantId, (c) =>
          c.query<{ status: string; emails: number; open: number }>(
            `select k.status, count(e.id)::int as emails, (count(e.id) filter (where e.status in ('queued', 'sending')))::int as open
               from public.campaigns k left join public.emails e on e.tenant_id = k.tenant_id and e.campaign_id = k.id
              where k.id = $1 group by k.status`,
            [campaign.id],
          ),
        );
        const s = rows[0]!;
        if (s.status === 'completed') {
          completedSeen = true;
          if (s.emails !== LEADS || s.open !== 0) violations.push(`completed with ${s.emails} emails, ${s.open} without an outcome`);
        }
        await sleep(100);
      }
    })();

    try {
      service = await startServiceProcess();
      await startCampaign(ft, tenantId, campaign.id);

      // Pause mid-campaign; once the sends in flight have settled, nothing more goes out.
      await waitFor('200 messages', () => sink.messages.length >= 200, 120_000);
      await pauseCampaign(ft, tenantId, campaign.id);
      let settled = sink.messages.length;
      for (let still = 0; still < 15; ) {
        await sleep(100);
        still = sink.messages.length === settled ? still + 1 : 0;
        settled = sink.messages.length;
      }
      await sleep(2_000);
      expect(sink.messages.length, 'messages while paused').toBe(settled);
      expect(settled).toBeLessThan(LEADS - SUPPRESSED.size);
      await startCampaign(ft, tenantId, campaign.id); // resume

      const letGo: number[] = [];
      for (const at of [700, 1_300]) {
        await waitFor(`${at} messages`, () => sink.messages.length >= at, 180_000);
        letGo.push(await killOutsideTheWindow(service, tenantId, campaign.id));
        expect(sink.messages.length, 'the kill came before the end of the campaign').toBeLessThan(LEADS - SUPPRESSED.size);
        service = await startServiceProcess();
      }

      await waitFor('the campaign completed', () => completedSeen, 240_000, 200);
      // The last dot follows the last `sent` commit by a moment; then give any second copy time to land.
      await waitFor('every message', () => sink.messages.length >= LEADS - SUPPRESSED.size, 15_000);
      await sleep(2_000);
      console.log(`campaign-crash-resume: kills let go ${letGo.join(', ')} times inside the window; ${sink.discarded} partial messages discarded by the server`);
    } finally {
      watching = false;
      await watcher;
      if (service) {
        service.kill('SIGTERM');
        await service.ended;
      }
    }

    const received = new Map<string, number>();
    for (const m of sink.messages) for (const to of [m.to].flat()) for (const a of to?.value ?? []) received.set(a.address!, (received.get(a.address!) ?? 0) + 1);
    const missing: string[] = [];
    const duplicated: string[] = [];
    const unexpected: string[] = [];
    for (let i = 0; i < LEADS; i++) {
      const n = received.get(`lead${i}@example.com`) ?? 0;
      if (SUPPRESSED.has(i)) {
        if (n !== 0) unexpected.push(`lead${i}`);
      } else if (n === 0) missing.push(`lead${i}`);
      else if (n > 1) duplicated.push(`lead${i} x${n}`);
    }
    expect({ missing, duplicated, suppressedButSent: unexpected }).toEqual({ missing: [], duplicated: [], suppressedButSent: [] });
    expect(sink.messages).toHaveLength(LEADS - SUPPRESSED.size);
    expect(violations).toEqual([]);

    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query('select status, count(*)::int as n from public.emails where campaign_id = $1 group by status order by status', [campaign.id]));
    expect(rows).toEqual([
      { status: 'sent', n: LEADS - SUPPRESSED.size },
      { status: 'suppressed', n: SUPPRESSED.size },
    ]);
    const k = await ft.oltp.withTenant(tenantId, (c) => c.query('select status from public.campaigns where id = $1', [campaign.id]));
    expect(k.rows[0].status).toBe('completed');
    // Every sent email's body key has its content row (I1); bodies stored by killed runs and never
    // recorded are orphans for the sweeper, younger than its grace period.
    const report = await checkConsistency(ft, { tenantId, orphanGraceSeconds: 3_600, record: false });
    expect(report.findings).toMatchObject({ I1: { count: 0 }, I2: { count: 0 }, I3: { count: 0 } });
    expect(report.clean).toBe(true);
  });
});
