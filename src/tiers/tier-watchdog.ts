import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { TierName } from '../types.js';
import { describeConnectionError, isNoAnswer } from './connection-errors.js';
import type { TrackedClient } from './tracked-client.js';

export { TIER_TIMEOUT_MS_DEFAULT } from '../config/defaults.js';

/** How often the watchdog looks at the queries in flight, in ms. */
const CHECK_EVERY_MS = 250;

export type TierState = 'up' | 'down';

export interface TierWatchdogOptions {
  tier: TierName;
  /** URL the probe logs in with (the runtime role). */
  probeUrl: string;
  /**
   * The bound: a query in flight for a third of it makes the watchdog probe the tier; a probe
   * that gets no answer within the other two thirds marks the tier down.
   */
  timeoutMs: number;
  /** Every connection of the tier's pools. */
  live: () => Iterable<TrackedClient>;
}

type ProbeResult = { reachable: true } | { reachable: false; reason: string; silent: boolean };

/**
 * Watches one tier and keeps its state, as a circuit breaker: `up` (calls go through) or `down`
 * (calls fail at once). A query that has waited past the stall threshold, or a call that failed
 * with a connection error, makes it probe the tier on a fresh connection with `select 1`. When
 * the probe gets no answer or the connection is refused, the tier is down: every connection
 * still waiting on it is destroyed (its callers get a connection error within the bound instead
 * of hanging on a frozen server or network), and the watchdog probes every second until the tier
 * answers again. A tier that answers, even with an error (wrong password, not migrated yet), is
 * reachable: the watchdog never kills queries that are merely slow on a server that answers.
 *
 * Emits `down` (reason) and `up`. Timers are unref'd: the watchdog never keeps a process alive.
 */
export class TierWatchdog extends EventEmitter<{ down: [reason: string]; up: [] }> {
  readonly #o: TierWatchdogOptions;
  #state: TierState = 'up';
  #reason: string | undefined;
  #since = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | undefined;
  /** performance.now() when the last probe started, and when it ended. */
  #lastProbeStart = Number.NEGATIVE_INFINITY;
  #lastProbe = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: TierWatchdogOptions) {
    super();
    this.#o = options;
    this.#timer = setInterval(() => this.#check(), CHECK_EVERY_MS);
    this.#timer.unref();
  }

  get state(): TierState {
    return this.#state;
  }

  /** Why the tier is down (no host, port or credentials in it); undefined while up. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** When the state last changed (ms since the epoch). */
  get since(): number {
    return this.#since;
  }

  get #stallMs(): number {
    return this.#o.timeoutMs / 3;
  }

  /** A call failed with a connection error: look at the tier now. Never throws. */
  suspect(): void {
    if (!this.#closed) void this.probe();
  }

  /** Probe now (one probe at a time) and update the state. Never throws. */
  probe(): Promise<void> {
    if (!this.#probing) this.#lastProbeStart = performance.now();
    this.#probing ??= this.#probeOnce().finally(() => {
      this.#probing = undefined;
      this.#lastProbe = performance.now();
    });
    return this.#probing;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #check(): void {
    if (this.#probing || this.#closed) return;
    const now = performance.now();
    if (this.#state === 'down') {
      if (now - this.#lastProbe >= 1_000) void this.probe();
      return;
    }
    // why: a query that stalled since the last probe began is probed now (a tier that froze just
    // after it came back must fail its calls within the bound too); one that a probe found on a
    // healthy server, merely slow, is probed again at most once per bound, not every tick
    const reprobe = now - this.#lastProbe >= this.#o.timeoutMs;
    for (const c of this.#o.live()) {
      if (c.busySince > 0 && now - c.busySince > this.#stallMs && (reprobe || c.busySince > this.#lastProbeStart)) {
        void this.probe();
        return;
      }
    }
  }

  async #probeOnce(): Promise<void> {
    let result = await this.#ask();
    // why: a connection reset or refused once may be a blip (a restarting proxy, a cut
    // connection); one more try on a fresh connection keeps a blip from opening the breaker
    if (!result.reachable && !result.silent && !this.#closed) {
      await new Promise((r) => setTimeout(r, 100).unref());
      result = await this.#ask();
    }
    if (this.#closed) return;
    if (result.reachable) {
      if (this.#state === 'down') this.#set('up', undefined);
      return;
    }
    // The tier does not answer: whatever waits on it now would wait for nothing.
    const error = new Error(`the ${this.#o.tier} tier does not answer: ${result.reason}`);
    for (const c of this.#o.live()) if (c.busySince > 0) c.kill(error);
    if (this.#state === 'up') this.#set('down', result.reason);
  }

  #set(state: TierState, reason: string | undefined): void {
    this.#state = state;
    this.#reason = reason;
    this.#since = Date.now();
    if (state === 'down') this.emit('down', reason!);
    else this.emit('up');
  }

  async #ask(): Promise<ProbeResult> {
    const waitMs = (this.#o.timeoutMs * 2) / 3;
    const client = new pg.Client({ connectionString: this.#o.probeUrl, connectionTimeoutMillis: waitMs, application_name: `fivetier:${this.#o.tier}:probe` });
    client.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    const noAnswer = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => resolve({ reachable: false, reason: `no answer within ${Math.round(waitMs)} ms`, silent: true }), waitMs);
      timer.unref();
    });
    const asked = (async (): Promise<ProbeResult> => {
      try {
        await client.connect();
        await client.query('select 1');
        return { reachable: true };
      } catch (err) {
        // why: an SQL error is an answer; only a silent or refusing tier is down
        if (typeof (err as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((err as { code: string }).code) && !(err as { code: string }).code.startsWith('08') && (err as { code: string }).code !== '57P03') {
          return { reachable: true };
        }
        return { reachable: false, reason: describeConnectionError(err), silent: isNoAnswer(err) };
      }
    })();
    const result = await Promise.race([asked, noAnswer]);
    clearTimeout(timer);
    (client as unknown as { connection?: { stream?: { destroy: () => void } } }).connection?.stream?.destroy();
    void client.end().catch(() => {});
    return result;
  }
}
