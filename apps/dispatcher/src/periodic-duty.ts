import type { DutyElection } from './registry/registry.js';

/*
 * A duty one dispatcher of the region holds at a time (DutyElection): a round every interval,
 * never two at once. Each round claims the duty itself (`duties.claimDuty`), so that a holder that
 * stopped answering is replaced; stopping gives it up, so that another dispatcher takes it at once.
 */
export abstract class PeriodicDuty {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  protected constructor(
    private readonly duty: { name: string; holderId: string; intervalMs: number; duties: DutyElection },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.duty.intervalMs);
    this.timer.unref();
  }

  /** Stops, and gives the duty up so that another dispatcher takes it at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.duty.duties.releaseDuty(this.duty.name, this.duty.holderId).catch(() => {});
  }

  /** One round (none while the previous one runs); exposed for tests. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.round();
    } finally {
      this.running = false;
    }
  }

  /** What a round does; it handles its own failures (the next round tries again). */
  protected abstract round(): Promise<void>;
}
