/**
 * A background loop: run a step until it reports no more work, then sleep (with jitter) until
 * woken or the idle interval passes; after an error, back off. Used by the claim loop, the Redis
 * dispatcher, the rescuer and the metrics sampler. `stop()` waits for the current step.
 */
export type StepResult = 'more' | 'idle';

export class BackgroundLoop {
  readonly name: string;
  #stopped = false;
  #wake: (() => void) | undefined;
  #woken = false;
  #done: Promise<void> | undefined;
  readonly #step: () => Promise<StepResult>;
  readonly #idleMs: number;
  readonly #errorBackoffMs: number;
  readonly #onError: (err: unknown) => void;

  constructor(name: string, step: () => Promise<StepResult>, opts: { idleMs: number; errorBackoffMs?: number; onError: (err: unknown) => void }) {
    this.name = name;
    this.#step = step;
    this.#idleMs = opts.idleMs;
    this.#errorBackoffMs = opts.errorBackoffMs ?? 1_000;
    this.#onError = opts.onError;
  }

  /** Start the loop. Never throws; step errors go to `onError`. */
  start(): void {
    this.#done ??= this.#run();
  }

  /** Cut the current sleep short (new work arrived). Never throws. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Stop after the current step; resolves when the loop has ended. Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#done;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let result: StepResult;
      this.#woken = false;
      try {
        result = await this.#step();
        failures = 0;
      } catch (err) {
        this.#onError(err);
        failures++;
        // why: notifications must not turn the backoff into a hot retry loop
        await this.#sleep(Math.min(30_000, this.#errorBackoffMs * 2 ** Math.min(failures - 1, 5)) * (0.5 + Math.random()), false);
        continue;
      }
      if (result === 'more' || this.#stopped) continue;
      if (this.#woken) continue; // woken during the step: new work may have arrived
      await this.#sleep(this.#idleMs * (0.8 + 0.4 * Math.random()), true);
    }
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        if (!wakeable && !this.#stopped) return;
        this.#wake = undefined;
        done();
      };
    });
  }
}
