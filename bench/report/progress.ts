/** A one-line progress bar on stderr, drawn only when stderr is a TTY. */

/** Draws `[#####.....] label` in place; silent when disabled or not a TTY. */
export class Progress {
  private readonly enabled: boolean;
  private lastDraw = 0;
  /** Text put before every label, e.g. "[2/9] ". */
  prefix = '';

  constructor(enabled: boolean) {
    this.enabled = enabled && process.stderr.isTTY === true;
  }

  /** Redraws (at most 10 times per second) with `fraction` in [0, 1]. */
  update(fraction: number, label: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && fraction < 1) return;
    this.lastDraw = now;
    const width = 24;
    const f = Math.max(0, Math.min(1, fraction));
    const done = Math.round(f * width);
    const cols = process.stderr.columns ?? 100;
    const line = `${this.prefix}[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${label}`.slice(
      0,
      cols - 1,
    );
    process.stderr.write(`\r\x1b[2K${line}`);
  }

  /** Prints a message on its own line (keeping the bar below it). */
  log(message: string): void {
    if (this.enabled) process.stderr.write(`\r\x1b[2K${message}\n`);
    else process.stderr.write(`${message}\n`);
  }

  /** Erases the bar. */
  clear(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}
