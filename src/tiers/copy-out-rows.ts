import type pg from 'pg';

const EMPTY = Buffer.alloc(0);
const COPY_DATA = 0x64; // 'd'
/** Messages the server may send inside COPY OUT, passed over: CopyOutResponse, Notice, ParameterStatus, Notification. */
const PASSED_OVER = new Set([0x48, 0x4e, 0x53, 0x41]);

/** What pg's connection looks like to a submittable (pg does not export the type). */
interface PgConnection {
  stream: NodeJS.ReadableStream & { listeners(event: 'data'): Array<(chunk: Buffer) => void> };
  query(text: string): void;
}

/**
 * `COPY ... TO STDOUT` (text format) read row by row, in place, straight from the connection's
 * socket: the current row is a range of the chunk read last, so a row costs no allocation,
 * and the socket is read only as fast as rows are taken (the server waits on a full socket).
 * Submit it with `client.query(rows)`, then `step()` through the rows, awaiting `fill()`
 * whenever `step()` returns false, until `fill()` returns false (the end) or throws (the
 * COPY failed or the connection broke). The connection serves other queries again once the
 * last row is read. Memory: the chunks the socket hands over, whatever the table size.
 *
 * One CopyData message per row is what the server sends in COPY OUT; the row's bytes exclude
 * its newline.
 *
 * @example
 * const rows = client.query(new CopyOutRows('copy (select id from public.t order by id) to stdout'));
 * for (;;) {
 *   while (rows.step()) use(rows.buf, rows.start, rows.end);
 *   if (!(await rows.fill())) break;
 * }
 */
export class CopyOutRows implements pg.Submittable {
  readonly text: string;
  /** The chunk holding the current row; the row is buf[start, end). */
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** Rows stepped over so far. */
  count = 0;
  #next = 0;
  #connection: PgConnection | undefined;
  #pgOnData: ((chunk: Buffer) => void) | undefined;
  #done = false;
  #finished = false;
  #error: Error | undefined;
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #waiting: { resolve: (more: boolean) => void; reject: (err: Error) => void } | undefined;
  readonly #onReadable = () => this.#wake();

  constructor(text: string) {
    this.text = text;
  }

  /** Called by pg when the query's turn comes: take the socket's data over until the rows end. */
  submit(connection: unknown): void {
    const c = connection as PgConnection;
    this.#connection = c;
    const listeners = c.stream.listeners('data');
    if (listeners.length !== 1) throw new Error(`CopyOutRows: expected pg's one data listener on the socket, found ${listeners.length}`);
    this.#pgOnData = listeners[0];
    c.stream.removeListener('data', this.#pgOnData!);
    c.stream.pause();
    c.stream.on('readable', this.#onReadable);
    c.query(this.text);
  }

  /** Move to the next row already read; false when none is (await `fill()`). */
  step(): boolean {
    for (;;) {
      const b = this.buf;
      const p = this.#next;
      if (p + 5 > b.length) return false;
      const code = b[p]!;
      // why: the length read inline; a call per row is what this class saves
      const length = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      if (code === COPY_DATA) {
        if (p + 1 + length > b.length) return false;
        this.start = p + 5;
        this.end = p + length; // the payload ends with the row's newline, at p + length
        this.#next = p + 1 + length;
        this.count++;
        return true;
      }
      if (PASSED_OVER.has(code)) {
        if (p + 1 + length > b.length) return false;
        this.#next = p + 1 + length;
        continue;
      }
      // CopyDone, ErrorResponse, or anything else: the rows are over. pg reads the rest.
      this.#handBack();
      return false;
    }
  }

  /**
   * Read more from the socket. True when there is more to step through, false at the end of the
   * rows. Throws when the COPY failed (the server's error) or the connection broke.
   */
  fill(): Promise<boolean> {
    if (this.#error) return Promise.reject(this.#error);
    // why: the end is the end once the server said the COPY completed, not when the rows stopped
    if (this.#done) return this.#finished ? Promise.resolve(false) : new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject })).then(() => false);
    if (this.#take()) return Promise.resolve(true);
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** Append what the socket holds to the unread bytes; false when it holds nothing yet. */
  #take(): boolean {
    const chunk = this.#connection!.stream.read() as Buffer | null;
    if (chunk === null) return false;
    const rest = this.buf.length - this.#next;
    this.buf = rest > 0 ? Buffer.concat([this.buf.subarray(this.#next), chunk]) : chunk;
    this.#next = 0;
    return true;
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (!waiting || this.#done) return;
    if (this.#take()) {
      this.#waiting = undefined;
      waiting.resolve(true);
    }
  }

  /** Give the socket back to pg, with the bytes after the rows (CopyDone, CommandComplete, ReadyForQuery or an error). */
  #handBack(): void {
    if (this.#done) return;
    this.#done = true;
    const c = this.#connection!;
    c.stream.removeListener('readable', this.#onReadable);
    c.stream.on('data', this.#pgOnData!);
    const rest = this.buf.subarray(this.#next);
    this.buf = EMPTY;
    this.#next = 0;
    if (rest.length > 0) this.#pgOnData!(rest);
    // why: as pg-copy-streams does; resuming within pg's own data handling could reorder chunks
    process.nextTick(() => c.stream.resume());
    const waiting = this.#waiting;
    this.#waiting = undefined;
    // An error, if any, arrives through handleError while pg reads the rest.
    if (waiting) this.fill().then(waiting.resolve, waiting.reject);
  }

  /** Why the COPY failed (the server's error, or the connection's), once it has. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** The rows were all read and the server completed the COPY (or it failed). */
  get finished(): boolean {
    return this.#finished || this.#error !== undefined;
  }

  // pg calls these as it reads the messages after the rows.
  handleError(err: Error): void {
    this.#error = err;
    this.#done = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(err);
    this.#settle?.reject(err);
    this.#settle = undefined;
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (this.#error) return;
    this.#finished = true;
    this.#settle?.resolve();
    this.#settle = undefined;
  }
}
