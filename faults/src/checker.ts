import { parsePositionId } from '@ovation/shared';
import type { ExitRecord, ManagedProcess } from './processes.js';
import { type Accepted, eventKey } from './publishers.js';
import type { ViewerRecord } from './viewers/record.js';

/*
 * What the run proves, from what the publishers got accepted and what every viewer received:
 *
 *   exactly once   every accepted event of a viewer's topic published after it subscribed (its
 *                  first snapshot) reached it once — or it got `resync` after the event was sent
 *                  (then it reloaded its state); anything received twice is a duplicate
 *   in order       a viewer's events come in log position order (per epoch), and each
 *                  publisher's events in the order it published them
 *   exact sums     a viewer's like total (last snapshot + likes after it) equals the likes accepted,
 *                  and so does its total of each reaction (snapshot's reactions + each byReaction)
 *   end markers    every viewer got both regions' end marker of its topic: what came before it
 *                  had every chance to arrive, so late duplicates are caught too
 *
 * Likes are summed into one frame per flush, so they are checked by their totals, not one by one;
 * the web app's status changes carry no id of their own and are not checked one by one either.
 */

export interface DeliveryResult {
  viewers: number;
  checked: number;
  deliveredOnce: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  excusedByResync: number;
  resyncs: number;
  likeTotals: { exact: number; wrong: Array<{ viewer: string; expected: number; got: number | undefined }> };
  reactionTotals: { exact: number; wrong: Array<{ viewer: string; expected: string; got: string }> };
  missingMarkers: string[];
  neverSubscribed: string[];
  examples: string[];
}

export function checkDeliveries(
  records: readonly ViewerRecord[],
  accepted: readonly Accepted[],
  markerKeys: (topic: string) => string[],
): DeliveryResult {
  const result: DeliveryResult = {
    viewers: records.length,
    checked: 0,
    deliveredOnce: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    excusedByResync: 0,
    resyncs: 0,
    likeTotals: { exact: 0, wrong: [] },
    reactionTotals: { exact: 0, wrong: [] },
    missingMarkers: [],
    neverSubscribed: [],
    examples: [],
  };
  const example = (text: string) => {
    if (result.examples.length < 20) result.examples.push(text);
  };
  const byTopic = new Map<string, Accepted[]>();
  for (const event of accepted) {
    const list = byTopic.get(event.topic) ?? [];
    list.push(event);
    byTopic.set(event.topic, list);
  }
  const byKey = new Map(accepted.map((event) => [event.key, event]));

  for (const record of records) {
    const { name, topic } = record.spec;
    result.resyncs += record.resyncs.length;
    if (record.subscribedAt === undefined) {
      result.neverSubscribed.push(name);
      continue;
    }
    const subscribedAt = record.subscribedAt;
    const received = new Map<string, number>();
    /** Per publisher: when each of its events arrived, by its place in the publisher's stream. */
    const arrivals = new Map<string, Array<{ n: number; at: number }>>();
    for (const event of record.events) {
      const key = eventKey(event.type, event.data);
      if (key === undefined) continue;
      received.set(key, (received.get(key) ?? 0) + 1);
      const origin = byKey.get(key);
      if (!origin) continue;
      let list = arrivals.get(origin.publisher);
      if (!list) {
        list = [];
        arrivals.set(origin.publisher, list);
      }
      list.push({ n: origin.n, at: event.at });
    }
    /**
     * A missing event is covered by a resync that came after it was sent — unless a later event of
     * the same publisher arrived before that resync: then it was skipped silently, which is a loss.
     */
    const excused = (event: Accepted): boolean => {
      const resync = record.resyncs.find((r) => r.at >= event.sentAt);
      if (!resync) return false;
      const later = (arrivals.get(event.publisher) ?? []).find((a) => a.n > event.n);
      return later === undefined || later.at >= resync.at;
    };
    // Anything received twice is a duplicate, required or not.
    for (const [key, count] of received) {
      if (count > 1) {
        result.duplicated += count - 1;
        example(`${name}: ${key} received ${count} times`);
      }
    }
    const topicEvents = byTopic.get(topic) ?? [];
    let likes = 0;
    const reactions: Record<string, number> = {};
    for (const event of topicEvents) {
      likes += event.count;
      for (const [reaction, n] of Object.entries(event.reactions ?? {}))
        reactions[reaction] = (reactions[reaction] ?? 0) + n;
      if (event.type === 'like' || event.sentAt <= subscribedAt) continue;
      result.checked++;
      const count = received.get(event.key) ?? 0;
      if (count >= 1) {
        if (count === 1) result.deliveredOnce++;
        continue;
      }
      if (excused(event)) {
        result.excusedByResync++;
        continue;
      }
      result.lost++;
      const near = (times: readonly number[]) =>
        times
          .filter((t) => Math.abs(t - event.sentAt) < 10_000)
          .map((t) => `${t - event.sentAt > 0 ? '+' : ''}${t - event.sentAt}`)
          .join(' ');
      const mine = arrivals.get(event.publisher) ?? [];
      const before = mine.filter((a) => a.n < event.n).at(-1);
      const after = mine.find((a) => a.n > event.n);
      const around = (a: { n: number; at: number } | undefined) =>
        a ? `#${a.n} at ${a.at - event.sentAt > 0 ? '+' : ''}${a.at - event.sentAt}` : '-';
      example(
        `${name}: lost ${event.key} (${event.type}, sent ${new Date(event.sentAt).toISOString()}, ` +
          `accepted +${event.ackAt - event.sentAt} ms in ${event.region}; connects ${near(record.connects) || '-'}; ` +
          `resyncs ${near(record.resyncs.map((r) => r.at)) || '-'} ms; got ${around(before)} then ${around(after)})`,
      );
    }

    // Order: log positions per epoch, and each publisher's own sequence.
    const lastPos = new Map<string, number>();
    const lastN = new Map<string, number>();
    for (const event of record.events) {
      const position = event.id === undefined ? undefined : parsePositionId(event.id);
      if (position) {
        const last = lastPos.get(position.epoch) ?? -1;
        // A snapshot's id (and a like a repair sends with it) names a state, not a new position.
        const ok = position.snapshot ? position.pos >= last : position.pos > last;
        if (!ok) {
          result.outOfOrder++;
          example(`${name}: ${event.type} at position ${position.pos} after ${last} (epoch ${position.epoch})`);
        }
        lastPos.set(position.epoch, Math.max(last, position.pos));
      }
      const key = eventKey(event.type, event.data);
      const origin = key === undefined ? undefined : byKey.get(key);
      if (origin && Number.isFinite(origin.n)) {
        const last = lastN.get(origin.publisher) ?? -1;
        if (origin.n < last) {
          result.outOfOrder++;
          example(`${name}: ${origin.publisher} #${origin.n} after #${last}`);
        }
        lastN.set(origin.publisher, Math.max(last, origin.n));
      }
    }

    const total = record.likeTotal();
    if (total === likes) result.likeTotals.exact++;
    else {
      result.likeTotals.wrong.push({ viewer: name, expected: likes, got: total });
      example(`${name}: like total ${total} instead of ${likes}`);
    }
    const expected = countsText(reactions);
    const got = countsText(record.reactionTotals() ?? {});
    if (got === expected) result.reactionTotals.exact++;
    else {
      result.reactionTotals.wrong.push({ viewer: name, expected, got });
      example(`${name}: reaction totals ${got} instead of ${expected}`);
    }
    for (const marker of markerKeys(topic)) {
      if (!received.has(marker)) result.missingMarkers.push(`${name} (${marker})`);
    }
  }
  return result;
}

export interface ProcessResult {
  crashes: ExitRecord[];
  policyEvents: string[];
  memory: Array<{ name: string; tier: string; peakMb: number; lastMb: number; grew: boolean }>;
}

/**
 * Unexpected exits, the process-wide policy's reports, and memory: an incarnation that lived long
 * enough (2 minutes) must not end its life much above where its second quarter was.
 */
export function checkProcesses(processes: readonly ManagedProcess[]): ProcessResult {
  const crashes = processes.flatMap((p) => p.exits.filter((exit) => !exit.expected));
  const policyEvents = processes.flatMap((p) => p.policyEvents.map((line) => `${p.name}: ${line.slice(0, 300)}`));
  const memory = processes.map((p) => {
    const samples = p.rss;
    const peak = Math.max(0, ...samples.map((s) => s.bytes));
    const lastPid = samples.at(-1)?.pid;
    const life = samples.filter((s) => s.pid === lastPid);
    let grew = false;
    if (life.length >= 8 && (life.at(-1)?.at ?? 0) - (life[0]?.at ?? 0) >= 120_000) {
      const quarter = Math.floor(life.length / 4);
      const mean = (part: typeof life) => part.reduce((sum, s) => sum + s.bytes, 0) / part.length;
      grew = mean(life.slice(-quarter)) > mean(life.slice(quarter, 2 * quarter)) * 1.5 + 30 * 1024 * 1024;
    }
    return {
      name: p.name,
      tier: p.spec.tier,
      peakMb: Math.round(peak / 1048576),
      lastMb: Math.round((samples.at(-1)?.bytes ?? 0) / 1048576),
      grew,
    };
  });
  return { crashes, policyEvents, memory };
}

/** Counts per reaction as text, in name order, zeros left out (`love=3 like=2`): equal counts, equal text. */
function countsText(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([reaction, n]) => `${reaction}=${n}`)
      .join(' ') || 'none'
  );
}
