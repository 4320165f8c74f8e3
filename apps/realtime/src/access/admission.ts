import { AppError } from '@ovation/shared';

/*
 * Bounds on what one client can hold on a node: connections per viewer (a token names them) and
 * per address (every connection, tokenless ones included). The per-address bound is high (an office
 * behind one NAT address still watches); the per-viewer one is a person's tabs and devices.
 * Counts live only while a connection does: a key goes when its last connection closes.
 */
export class Admission {
  private readonly byViewer = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  /** Refusals (401/403) per address in the current window (see `screen`). */
  private refusals = new Map<string, number>();
  private windowStart = 0;

  constructor(
    private readonly limits: {
      perViewer: number;
      perAddress: number;
      /** Refused attempts an address may make per REFUSAL_WINDOW_MS before it is turned away unheard. */
      refusalsPerAddress: number;
    },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Turns an address away (429) before any token work once it was refused too often lately: a
   * flood of forged or expired tokens then costs a map lookup per attempt, not a signature check.
   * Honest clients are refused rarely (a token expires, the client renews it).
   */
  screen(address: string): void {
    this.rollWindow();
    if ((this.refusals.get(address) ?? 0) >= this.limits.refusalsPerAddress) {
      throw new AppError('RATE_LIMITED', 'too many refused connections from this address; wait and retry', {
        retryAfterSeconds: Math.ceil(REFUSAL_WINDOW_MS / 1000),
      });
    }
  }

  /** Counts a refusal (a bad token, a topic not granted) against the address. */
  refused(address: string): void {
    this.rollWindow();
    // Bounded however many addresses refuse: past this many, the window starts over.
    if (this.refusals.size >= MAX_TRACKED_ADDRESSES) this.refusals = new Map();
    this.refusals.set(address, (this.refusals.get(address) ?? 0) + 1);
  }

  private rollWindow(): void {
    const now = this.now();
    if (now - this.windowStart < REFUSAL_WINDOW_MS) return;
    this.windowStart = now;
    if (this.refusals.size > 0) this.refusals = new Map();
  }

  /** Counts a new connection in, or throws 429 when it would go over a bound (nothing counted). */
  admit(viewerId: string | undefined, address: string): void {
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      throw new AppError(
        'RATE_LIMITED',
        `too many connections from this address (at most ${this.limits.perAddress} per node)`,
        { retryAfterSeconds: 10 },
      );
    }
    if (viewerId !== undefined && (this.byViewer.get(viewerId) ?? 0) >= this.limits.perViewer) {
      throw new AppError(
        'RATE_LIMITED',
        `too many connections for this viewer (at most ${this.limits.perViewer}); close another tab`,
        { retryAfterSeconds: 10 },
      );
    }
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    if (viewerId !== undefined) this.byViewer.set(viewerId, (this.byViewer.get(viewerId) ?? 0) + 1);
  }

  release(viewerId: string | undefined, address: string): void {
    decrement(this.byAddress, address);
    if (viewerId !== undefined) decrement(this.byViewer, viewerId);
  }

  /** Keys held (tests: nothing is kept after the connections are gone). */
  get size(): number {
    return this.byViewer.size + this.byAddress.size;
  }
}

/** The window refusals are counted in. */
export const REFUSAL_WINDOW_MS = 10_000;
/** Addresses whose refusals are tracked at once. */
const MAX_TRACKED_ADDRESSES = 100_000;

function decrement(map: Map<string, number>, key: string): void {
  const left = (map.get(key) ?? 0) - 1;
  if (left > 0) map.set(key, left);
  else map.delete(key);
}
