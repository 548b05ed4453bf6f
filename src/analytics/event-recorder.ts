/**
 * Delivery events of many jobs recorded together: the events that jobs of this process hand in
 * at about the same time go into OLAP in one `recordEvents` call (one transaction per tenant).
 * Why: every `sent` event of a campaign adds to the same daily row of `campaign_analytics`, so
 * concurrent transactions, one per job, would wait on that row's lock one after another, each
 * holding a worker slot; one transaction for all of them takes the lock once.
 */
import type { Fivetier } from '../platform.js';
import { checkEvent, type DeliveryEvent } from './events.js';
import { RECORD_BATCH_MAX, recordEvents } from './record-events.js';

interface Pending {
  events: readonly DeliveryEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class EventRecorder {
  readonly #ft: Pick<Fivetier, 'olap'>;
  #pending: Pending[] = [];
  #running = false;
  #scheduled = false;

  constructor(ft: Pick<Fivetier, 'olap'>) {
    this.#ft = ft;
  }

  /**
   * Record the events (each counted once, as recordEvents). Resolves once the transaction that
   * holds them committed. Throws FT_ERR_INPUT_INVALID for a bad event before anything is
   * written (other callers' events are not affected); rejects with the error of the shared
   * call when it failed (the caller's job retries; its events are still counted once).
   */
  record(events: readonly DeliveryEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const now = Date.now();
    events.forEach((e, i) => checkEvent(e, `events[${i}].`, now));
    if (events.length > RECORD_BATCH_MAX) return recordEvents(this.#ft, events).then(() => {});
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ events, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#running || this.#pending.length === 0) return;
    const batch: Pending[] = [];
    let size = 0;
    while (this.#pending.length > 0 && size + this.#pending[0]!.events.length <= RECORD_BATCH_MAX) {
      const p = this.#pending.shift()!;
      batch.push(p);
      size += p.events.length;
    }
    this.#running = true;
    try {
      await recordEvents(this.#ft, batch.flatMap((p) => p.events));
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }
}
