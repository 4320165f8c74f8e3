/*
 * What a viewer saw, whatever kind of client it is: every event in the order it arrived, the
 * resyncs, the connections. The checker works on these records only.
 */

export type ViewerKind = 'client' | 'eventsource' | 'raw';

export interface Received {
  type: string;
  /** The SSE id of the frame (a position id of the viewer's region), when it had one. */
  id: string | undefined;
  data: Record<string, unknown>;
  at: number;
  replayed: boolean;
}

export interface ViewerSpec {
  name: string;
  kind: ViewerKind;
  region: string;
  topic: string;
  /** Whether the topic is a web video (its state can be reloaded through the product API). */
  web: boolean;
  /** Who the viewer is, for presence (video topics): an account (named) or a guest; its token says so. */
  member?: { id: string; name?: string; token: string };
}

/** `&token=…` for a viewer that has one (the query of its /connect). */
export function tokenQuery(spec: ViewerSpec): string {
  return spec.member ? `&token=${encodeURIComponent(spec.member.token)}` : '';
}

export class ViewerRecord {
  readonly events: Received[] = [];
  readonly resyncs: Array<{ at: number; reason: string }> = [];
  /** Each `connected` (or stream start): when. */
  readonly connects: number[] = [];
  /** Comment ids a reload after a resync found (web topics). */
  readonly reloaded = new Set<string>();
  readonly startedAt = Date.now();
  /** When the first snapshot arrived: from then on the viewer is subscribed. */
  subscribedAt: number | undefined;
  /** Whether the viewer's stream is open right now. */
  open = false;
  errors = 0;

  constructor(readonly spec: ViewerSpec) {}

  event(type: string, id: string | undefined, data: Record<string, unknown>, replayed: boolean): void {
    const at = Date.now();
    if (type === 'snapshot' && this.subscribedAt === undefined) this.subscribedAt = at;
    this.events.push({ type, id, data, at, replayed });
  }

  resync(reason: string): void {
    this.resyncs.push({ at: Date.now(), reason });
  }

  connected(): void {
    this.open = true;
    this.connects.push(Date.now());
  }

  /** The like total as this viewer would show it: its last snapshot plus the likes after it. */
  likeTotal(): number | undefined {
    let total: number | undefined;
    for (const event of this.events) {
      if (event.type === 'snapshot' && typeof event.data.likes === 'number') total = event.data.likes;
      else if (event.type === 'like' && total !== undefined && typeof event.data.count === 'number') {
        total += event.data.count;
      }
    }
    return total;
  }

  /**
   * The like totals per reaction as this viewer would show them: its last snapshot's (all `like`
   * when it names none), plus each like after it by its `byReaction` (all `like` when it names none).
   */
  reactionTotals(): Record<string, number> | undefined {
    let totals: Record<string, number> | undefined;
    const add = (counts: Record<string, number>) => {
      for (const [reaction, n] of Object.entries(counts)) {
        if (totals && n > 0) totals[reaction] = (totals[reaction] ?? 0) + n;
      }
    };
    for (const event of this.events) {
      const { data } = event;
      if (event.type === 'snapshot' && typeof data.likes === 'number') {
        totals = {};
        add(isCounts(data.reactions) ? data.reactions : { like: data.likes });
      } else if (event.type === 'like' && totals !== undefined && typeof data.count === 'number') {
        add(isCounts(data.byReaction) ? data.byReaction : { like: data.count });
      }
    }
    return totals;
  }

  /** The last status it saw (a `status` event, or a snapshot's). */
  lastStatus(): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const event = this.events[i] as Received;
      if ((event.type === 'status' || event.type === 'snapshot') && typeof event.data.status === 'string') {
        return event.data.status;
      }
    }
    return undefined;
  }

  /** The last `viewers` count it received (or the last snapshot's). */
  lastViewerCount(): number | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const event = this.events[i] as Received;
      if (event.type === 'viewers' && typeof event.data.count === 'number') return event.data.count;
      if (event.type === 'snapshot' && typeof event.data.viewers === 'number') return event.data.viewers;
    }
    return undefined;
  }
}

/** The `data` of an envelope frame (`{id, topic, type, data, ts}`), or the payload itself. */
export function envelopeOf(raw: string): { id?: string; data: Record<string, unknown>; replayed: boolean } {
  try {
    const value = JSON.parse(raw) as Record<string, unknown>;
    const data = value.data;
    if (typeof data === 'object' && data !== null && typeof value.topic === 'string') {
      return {
        ...(typeof value.id === 'string' ? { id: value.id } : {}),
        data: data as Record<string, unknown>,
        replayed: value.replayed === true,
      };
    }
    return { data: value, replayed: false };
  } catch {
    return { data: {}, replayed: false };
  }
}

/** Frames a viewer listens for besides the control ones. */
export const EVENT_TYPES = ['snapshot', 'like', 'comment', 'comment_deleted', 'viewers', 'status', 'presence'] as const;

function isCounts(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
  );
}
