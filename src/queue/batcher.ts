/**
 * Groups single calls into one statement: `add(item)` resolves with that item's result once
 * the batch it joined has run. A batch starts on the next turn of the event loop, or when the
 * previous batch ends; at most `maxInFlight` batches run at once (each needs a connection).
 */
export class Batcher<I, R> {
  readonly #run: (items: I[]) => Promise<R[]>;
  readonly #maxSize: number;
  readonly #maxInFlight: number;
  #pending: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  #inFlight = 0;
  #scheduled = false;

  /** `run` returns one result per item, in order. */
  constructor(run: (items: I[]) => Promise<R[]>, opts: { maxSize?: number; maxInFlight?: number } = {}) {
    this.#run = run;
    this.#maxSize = opts.maxSize ?? 500;
    this.#maxInFlight = opts.maxInFlight ?? 2;
  }

  /** Rejects with what `run` threw for the batch. */
  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight || this.#pending.length === 0) return;
    const batch = this.#pending.splice(0, this.#maxSize);
    this.#inFlight++;
    try {
      const results = await this.#run(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
