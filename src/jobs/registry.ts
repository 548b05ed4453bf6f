/**
 * The one registry of job types: for each type its queue, default priority, timeout and attempt
 * limit, and (in a process that runs it) its handler. `enqueue`, `insertQueue` and the outbox
 * relay route by it; workers claim only the types they have handlers for and time them out by it.
 */
import { FivetierError } from '../errors/codes.js';
import type { JobHandler } from '../queue/worker.js';

export interface JobDefinition {
  /** The job type, e.g. `email.send`. */
  readonly type: string;
  /** The queue its jobs go to (a row of `job_queues`). */
  readonly queue: string;
  /** Default priority, 1..1000 (lower runs sooner). */
  readonly priority: number;
  /** How long one attempt may run, in ms. */
  readonly timeoutMs: number;
  /** Attempts before the dead letter; default by lane (5 for priority <= 50, else 3). */
  readonly maxAttempts?: number;
  /** What it does, for `--help` and the docs. */
  readonly description: string;
}

export class JobRegistry {
  readonly #definitions = new Map<string, JobDefinition>();
  readonly #handlers = new Map<string, JobHandler>();

  /** Add a job type. Throws FT_ERR_INPUT_INVALID for a bad or repeated definition. */
  define(definition: JobDefinition): this {
    const { type, queue, priority, timeoutMs, maxAttempts } = definition;
    if (!/^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/.test(type)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${JSON.stringify(type)}: 1..100 letters, digits, _ . : -`]);
    if (this.#definitions.has(type)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type} is defined already`]);
    if (!/^[a-z][a-z0-9_-]{0,99}$/.test(queue)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type}: bad queue name ${JSON.stringify(queue)}`]);
    if (!(Number.isInteger(priority) && priority >= 1 && priority <= 1000)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type}: priority must be an integer 1..1000`]);
    if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type}: timeoutMs must be a positive integer`]);
    if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type}: maxAttempts must be an integer >= 1`]);
    this.#definitions.set(type, Object.freeze({ ...definition }));
    return this;
  }

  /** Register the handler of a defined type. Throws for an unknown type or a second handler. */
  handle(type: string, handler: JobHandler): this {
    if (!this.#definitions.has(type)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`job type ${type} is not defined`]);
    if (this.#handlers.has(type)) throw new FivetierError('FT_ERR_QUEUE_HANDLER_EXISTS', [type]);
    this.#handlers.set(type, handler);
    return this;
  }

  /** The definition of a type, if defined. */
  get(type: string): JobDefinition | undefined {
    return this.#definitions.get(type);
  }

  /** Every definition. */
  definitions(): JobDefinition[] {
    return [...this.#definitions.values()];
  }

  /** The handlers registered here, by type. */
  handlers(): ReadonlyMap<string, JobHandler> {
    return this.#handlers;
  }
}
