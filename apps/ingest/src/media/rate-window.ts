/**
 * A sum over the last `windowMs` (to a bucket's precision): bytes for the bitrate, frames for the
 * frame rate. Fixed memory and O(1) per add, so it can sit on the media path (one add per message).
 */
export class RateWindow {
  private readonly slots: Float64Array;
  private readonly amounts: Float64Array;

  constructor(
    readonly windowMs = 5000,
    private readonly bucketMs = 250,
  ) {
    const buckets = Math.ceil(windowMs / bucketMs);
    this.slots = new Float64Array(buckets).fill(-1);
    this.amounts = new Float64Array(buckets);
  }

  add(amount: number, now: number): void {
    const slot = Math.floor(now / this.bucketMs);
    const index = slot % this.slots.length;
    if (this.slots[index] !== slot) {
      this.slots[index] = slot;
      this.amounts[index] = 0;
    }
    this.amounts[index] = (this.amounts[index] as number) + amount;
  }

  /** When the oldest bucket sum() counts began: sum() covers [windowStart(now), now]. */
  windowStart(now: number): number {
    return (Math.floor(now / this.bucketMs) - this.slots.length + 1) * this.bucketMs;
  }

  /** What was added over the last windowMs (to a bucket: from windowStart(now)). */
  sum(now: number): number {
    const oldest = Math.floor(now / this.bucketMs) - this.slots.length;
    let total = 0;
    for (let i = 0; i < this.slots.length; i++) {
      if ((this.slots[i] as number) > oldest) total += this.amounts[i] as number;
    }
    return total;
  }
}
