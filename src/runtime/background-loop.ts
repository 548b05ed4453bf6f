/**
 * A background loop: run a step until it reports no more work, then sleep (with jitter) until
 * woken or the idle interval passes; after an error, back off exponentially (with jitter, up to
 * `maxBackoffMs`). Every background task of fivetier runs on one: the outbox relay, the queue's
 * claim loop, the Redis dispatcher, the rescuer, metrics sampling, the scheduled maintenance and
 * the migration catch-up of a tier that was down. `stop()` waits for the current step.
 */
export type StepResult = 'more' | 'idle';

export interface BackgroundLoopOptions {
  /** Sleep between idle steps, in ms (jittered by +-20%). */
  idleMs: number;
  /** Delay before the first step, in ms (default 0). */
  initialDelayMs?: number;
  /** First back-off after a failed step, in ms (default 1000); doubles per failure in a row. */
  errorBackoffMs?: number;
  /** Longest back-off, in ms (default 30 000). */
  maxBackoffMs?: number;
  /** Called with each failed step's error and how many failed in a row. Must not throw. */
  onError: (err: unknown, failures: number, retryInMs: number) => void;
}

export class BackgroundLoop {
  readonly name: string;
  #stopped = false;
  #wake: ((force?: boolean) => void) | undefined;
  #woken = false;
  #done: Promise<void> | undefined;
  readonly #step: () => Promise<StepResult>;
  readonly #o: Required<BackgroundLoopOptions>;

  constructor(name: string, step: () => Promise<StepResult>, options: BackgroundLoopOptions) {
    this.name = name;
    this.#step = step;
    this.#o = { initialDelayMs: 0, errorBackoffMs: 1_000, maxBackoffMs: 30_000, ...options };
  }

  /** Start the loop. Idempotent; never throws; step errors go to `onError`. */
  start(): void {
    this.#done ??= this.#run();
  }

  /** Cut the current idle sleep short (new work arrived). Never throws. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * Cut the current sleep short, a back-off after a failure included: what the loop waited on
   * (a tier) is back. Never throws.
   */
  retryNow(): void {
    this.#woken = true;
    this.#wake?.(true);
  }

  /** Stop after the current step; resolves when the loop has ended. Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#done;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async #run(): Promise<void> {
    if (this.#o.initialDelayMs > 0) await this.#sleep(this.#o.initialDelayMs, false);
    let failures = 0;
    while (!this.#stopped) {
      let result: StepResult;
      this.#woken = false;
      try {
        result = await this.#step();
        failures = 0;
      } catch (err) {
        failures++;
        // why: wake-ups (notifications) must not turn the back-off into a hot retry loop
        const ceiling = Math.min(this.#o.maxBackoffMs, this.#o.errorBackoffMs * 2 ** Math.min(failures - 1, 16));
        const delay = Math.round(ceiling * (0.5 + Math.random() / 2));
        this.#o.onError(err, failures, delay);
        await this.#sleep(delay, false);
        continue;
      }
      if (result === 'more' || this.#stopped) continue;
      if (this.#woken) continue; // woken during the step: new work may have arrived
      await this.#sleep(this.#o.idleMs * (0.8 + 0.4 * Math.random()), true);
    }
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = (force) => {
        if (wakeable || force || this.#stopped) done();
      };
    });
  }
}
