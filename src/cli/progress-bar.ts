/**
 * A one-line progress bar on a TTY stream (redrawn with \r, at most every 100 ms); on a
 * non-TTY stream one plain line per 10% step, so logs stay readable. Never throws.
 */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #width: number;
  #lastDraw = 0;
  #lastStep = -1;
  #label = '';
  #drawn = false;

  constructor(stream: NodeJS.WriteStream = process.stderr, width = 30) {
    this.#stream = stream;
    this.#width = width;
  }

  /** Show `done` of `total` (total 0 = unknown) under `label`. */
  update(label: string, done: number, total: number): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    if (!this.#stream.isTTY) {
      const step = Math.floor(fraction * 10);
      if (label !== this.#label) this.#lastStep = -1;
      this.#label = label;
      if (step > this.#lastStep) {
        this.#lastStep = step;
        this.#stream.write(`${label}: ${done}/${total || '?'} (${Math.round(fraction * 100)}%)\n`);
      }
      return;
    }
    const now = Date.now();
    if (now - this.#lastDraw < 100 && label === this.#label) return;
    this.#lastDraw = now;
    this.#label = label;
    const filled = Math.round(fraction * this.#width);
    this.#stream.write(`\r${label.padEnd(8)} [${'#'.repeat(filled)}${'-'.repeat(this.#width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total || '?'}\x1b[K`);
    this.#drawn = true;
  }

  /** End the bar's line. */
  done(): void {
    if (this.#stream.isTTY && this.#drawn) this.#stream.write('\n');
    this.#drawn = false;
  }
}
