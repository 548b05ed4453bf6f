import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay, sendEmail } from '../../src/cross-tier/index.js';
import { isFivetierError } from '../../src/errors/codes.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { ensureQueue, listQueues, queueStats } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import type { TierName } from '../../src/types.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { testConfig } from '../helpers/platform.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A tier that accepts connections and then answers nothing (a hung server, a partition): every
 * call fails within the configured bound (FIVETIER_TIER_TIMEOUT_MS, default 3 s; asserted here at
 * the 5 s) with FT_ERR_TIER_UNAVAILABLE naming the tier, and everything recovers once
 * the tier forwards again, without a restart. Frozen once with connections already pooled
 * (idle ones hang too) and new ones accepted but silent.
 */

const BOUND_MS = 5_000;
const PROXIED = ['oltp', 'content', 'queue'] as const;

/** How long `fn` took to settle, and how. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; error?: unknown; value?: T }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what} did not recover within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

function expectTierUnavailable(error: unknown, tier: TierName): void {
  expect(isFivetierError(error, 'FT_ERR_TIER_UNAVAILABLE'), String(error)).toBe(true);
  expect((error as Error).message).toContain(`the ${tier} tier`);
  // The caller learns which tier, never where it is.
  expect((error as Error).message).not.toMatch(/127\.0\.0\.1|localhost|:\d{4,5}/);
}

describe('a tier that accepts connections and answers nothing', () => {
  let direct: Fivetier;
  let faulty: Fivetier;
  let drop: () => Promise<void>;
  let tenantId: string;
  const proxies = {} as Record<(typeof PROXIED)[number], TcpProxy>;

  beforeAll(async () => {
    let urls: Record<TierName, string>;
    ({ ft: direct, drop, urls } = await openScratchFivetier('frozen'));
    for (const t of PROXIED) proxies[t] = await TcpProxy.forUrl(urls[t]);
    faulty = await openFivetier({
      config: testConfig({
        tiers: {
          oltp: { url: proxies.oltp.urlFor(urls.oltp) },
          content: { url: proxies.content.urlFor(urls.content) },
          queue: { url: proxies.queue.urlFor(urls.queue) },
          olap: { url: urls.olap },
          notifications: { url: urls.notifications },
        },
      }),
      migrate: false,
    });
    expect(faulty.config.tierTimeoutMs).toBeLessThanOrEqual(BOUND_MS);
    tenantId = await createTenant(direct);
    await ensureQueue(direct.queue, 'frozen-test');
  });
  afterAll(async () => {
    for (const p of Object.values(proxies)) p.thaw();
    await faulty?.close();
    await drop?.();
    for (const p of Object.values(proxies)) await p.close();
  });

  const send = () => sendEmail(faulty, { tenantId, recipient: 'ada@example.com', subject: 'hi', body: `body ${randomUUID()}` });
  const read = (tier: 'oltp' | 'content' | 'queue') =>
    faulty.tiers[tier].withTenant(tenantId, (c) => c.query('select count(*)::int as n from pg_catalog.pg_class'));

  for (const tier of ['oltp', 'content'] as const) {
    it(`${tier}: sendEmail and a withTenant read fail within the bound, then work again`, async () => {
      // Warm pools: the frozen tier's idle connections hang as well as new ones.
      await send();
      await read(tier);
      proxies[tier].freeze();
      try {
        const [s, r] = await Promise.all([timed(send), timed(() => read(tier))]);
        expect(s.ms).toBeLessThan(BOUND_MS);
        expectTierUnavailable(s.error, tier);
        expect(r.ms).toBeLessThan(BOUND_MS);
        expectTierUnavailable(r.error, tier);
        // Once the watchdog knows, calls fail at once.
        const again = await timed(() => read(tier));
        expect(again.ms).toBeLessThan(1_000);
        expectTierUnavailable(again.error, tier);
        const health = await timed(() => faulty.tiers[tier].health());
        expect(health.value?.status).toBe('down');
      } finally {
        proxies[tier].thaw();
      }
      await eventually('sendEmail', send);
      await eventually('read', () => read(tier));
    });
  }

  it('queue: a withTenant read fails within the bound, then works again', async () => {
    await read('queue');
    proxies.queue.freeze();
    try {
      const r = await timed(() => read('queue'));
      expect(r.ms).toBeLessThan(BOUND_MS);
      expectTierUnavailable(r.error, 'queue');
    } finally {
      proxies.queue.thaw();
    }
    await eventually('read', () => read('queue'));
  });

  it("queue: the queue's single statements (operator reads, the worker's batches) fail within the bound as FT_ERR_TIER_UNAVAILABLE, then at once, then work again", async () => {
    await listQueues(faulty.queue);
    proxies.queue.freeze();
    try {
      const first = await timed(() => listQueues(faulty.queue));
      expect(first.ms).toBeLessThan(BOUND_MS);
      expectTierUnavailable(first.error, 'queue');
      // The watchdog found the tier down: the next statement does not wait out the bound again.
      await eventually('the queue tier marked down', async () => expect(faulty.queue.state).toBe('down'), BOUND_MS);
      const next = await timed(() => queueStats(faulty.queue));
      expect(next.ms).toBeLessThan(100);
      expectTierUnavailable(next.error, 'queue');
    } finally {
      proxies.queue.thaw();
    }
    await eventually('listQueues', () => listQueues(faulty.queue));
  });

  it('oltp and queue: the relay fails its pass within the bound, then drains the outbox', async () => {
    const passes: Array<{ at: number; moved: number; error?: unknown }> = [];
    const relay = new OutboxRelay(faulty, { pollIntervalMs: 100, onPass: (p) => passes.push({ at: performance.now(), ...p }) });
    relay.start();
    try {
      for (const tier of ['oltp', 'queue'] as const) {
        await eventually('relay pass', async () => {
          if (!passes.some((p) => !p.error)) throw new Error('no pass yet');
        });
        // A send commits (OLTP reachable) while the queue tier hangs: it waits in the outbox.
        proxies[tier].freeze();
        const frozenAt = performance.now();
        let sent: Awaited<ReturnType<typeof sendEmail>> | undefined;
        if (tier === 'queue') sent = await send();
        try {
          await eventually('a failed relay pass', async () => {
            if (!passes.some((p) => p.error && p.at > frozenAt)) throw new Error('no failed pass');
          }, BOUND_MS + 2_000);
          const failedAt = passes.find((p) => p.error && p.at > frozenAt)!.at;
          expect(failedAt - frozenAt).toBeLessThan(BOUND_MS + 1_000); // a pass already running when the tier froze, plus the bound
          expectTierUnavailable(passes.find((p) => p.error && p.at > frozenAt)!.error, tier);
        } finally {
          proxies[tier].thaw();
        }
        await eventually(`${tier} back up`, async () => {
          if (faulty.tiers[tier].state !== 'up') throw new Error(faulty.tiers[tier].state);
        });
        if (sent) {
          const jobId = sent.jobId;
          await eventually('relayed job', async () => {
            const { rows } = await direct.queue.withTenant(tenantId, (c) => c.query('select id from public.jobs where id = $1', [jobId]));
            if (rows.length !== 1) throw new Error('not relayed yet');
          });
        }
      }
    } finally {
      await relay.stop();
    }
  });

  it('queue: the worker backs off within the bound and completes jobs once the tier answers', async () => {
    const done: string[] = [];
    const errors: number[] = [];
    const worker = new JobWorker(faulty, { queues: ['frozen-test'], redisUrl: null, concurrency: 2, pollIntervalMs: 100, metricsIntervalMs: 0 });
    worker.registerHandler('frozen.test', async (job) => void done.push(job.id));
    worker.on('error', () => errors.push(performance.now()));
    await worker.start();
    try {
      const first = await enqueue(direct.queue, tenantId, { queue: 'frozen-test', type: 'frozen.test' });
      await eventually('first job', async () => {
        if (!done.includes(first!.id)) throw new Error('not done');
      });
      proxies.queue.freeze();
      const frozenAt = performance.now();
      try {
        await eventually('worker error', async () => {
          if (!errors.some((t) => t > frozenAt)) throw new Error('no error yet');
        }, BOUND_MS + 2_000);
        expect(errors.find((t) => t > frozenAt)! - frozenAt).toBeLessThan(BOUND_MS + 1_000);
      } finally {
        proxies.queue.thaw();
      }
      const second = await enqueue(direct.queue, tenantId, { queue: 'frozen-test', type: 'frozen.test' });
      await eventually('second job', async () => {
        if (!done.includes(second!.id)) throw new Error('not done');
      });
    } finally {
      await worker.stop(1_000);
    }
  });
});
