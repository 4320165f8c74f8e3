import { sleep } from './processes.js';
import type { ViewerRecord } from './viewers/record.js';

/*
 * Presence after the faults (the suite's video topics, whose viewers hold tokens, every other one
 * an account):
 *   - converged: every region's `GET /topics/:topic/presence` names exactly the accounts watching
 *     the video, in any region, and counts exactly its guests — within the TTL and the grace of the
 *     viewers being back (a viewer kept away longer than that by a fault has left meanwhile, and
 *     joins again);
 *   - no repeats: in an unbroken stretch of a viewer's stream (since its last snapshot: a presence
 *     event lost in a gap or a reconnect is followed by one, which lets out what arrived after the
 *     gap first), each member joined and left alternately, never twice in a row (each change
 *     reaches it once).
 */

export interface PresenceResult {
  /** ms after the viewers were all back when every list matched; undefined: never within the limit. */
  convergedMs: number | undefined;
  limitMs: number;
  /** The last difference found (empty once converged). */
  mismatch: string;
  /** Viewers that saw presence changes since their last snapshot (checked for repeats), and those that saw one repeated. */
  continuous: number;
  repeated: string[];
}

export async function checkPresence(
  records: readonly ViewerRecord[],
  dispatcherUrls: readonly string[],
  { since, limitMs }: { since: number; limitMs: number },
): Promise<PresenceResult> {
  const truth = new Map<string, { accounts: Set<string>; guests: number }>();
  for (const { spec } of records) {
    if (!spec.member) continue;
    const topic = truth.get(spec.topic) ?? { accounts: new Set<string>(), guests: 0 };
    if (spec.member.name === undefined) topic.guests++;
    else topic.accounts.add(spec.member.id);
    truth.set(spec.topic, topic);
  }
  let convergedMs: number | undefined;
  let mismatch = '';
  while (Date.now() < since + limitMs) {
    mismatch = await listsMismatch(dispatcherUrls, truth);
    if (!mismatch) {
      convergedMs = Date.now() - since;
      break;
    }
    await sleep(250);
  }
  let continuous = 0;
  const repeated: string[] = [];
  for (const record of records) {
    if (!record.spec.member) continue;
    const stretch = record.events.slice(record.events.findLastIndex((e) => e.type === 'snapshot') + 1);
    if (!stretch.some((e) => e.type === 'presence')) continue;
    continuous++;
    const repeat = firstRepeat(stretch);
    if (repeat) repeated.push(`${record.spec.name}: ${repeat}`);
  }
  return { convergedMs, limitMs, mismatch, continuous, repeated };
}

/** The first topic whose list differs from the truth in some region ('' when none does). */
async function listsMismatch(
  dispatcherUrls: readonly string[],
  truth: ReadonlyMap<string, { accounts: Set<string>; guests: number }>,
): Promise<string> {
  for (const url of dispatcherUrls) {
    for (const [topic, expected] of truth) {
      try {
        const response = await fetch(`${url}/topics/${encodeURIComponent(topic)}/presence?limit=1000`, {
          signal: AbortSignal.timeout(2000),
        });
        const page = (await response.json()) as { count: number; guests: number; viewers: Array<{ id: string }> };
        const ids = page.viewers.map((v) => v.id).sort();
        const want = [...expected.accounts].sort();
        if (ids.join(',') !== want.join(',') || page.guests !== expected.guests) {
          return `${url} ${topic}: accounts ${ids.length} (want ${want.length}), guests ${page.guests} (want ${expected.guests})`;
        }
      } catch (error) {
        return `${url} ${topic}: ${(error as Error).message}`;
      }
    }
  }
  return '';
}

/** The first member seen to join twice, or leave twice, in a row in these events. */
function firstRepeat(events: ViewerRecord['events']): string | undefined {
  const last = new Map<string, 'joined' | 'left'>();
  for (const event of events) {
    if (event.type !== 'presence') continue;
    // Names beyond the cap are only counted (`more`): whoever they were is unknown from here on.
    if (typeof event.data.more === 'object' && event.data.more !== null) last.clear();
    for (const change of ['joined', 'left'] as const) {
      const members = event.data[change];
      if (!Array.isArray(members)) continue;
      for (const member of members as Array<{ id?: unknown }>) {
        const id = String(member.id);
        if (last.get(id) === change) return `${id} ${change} twice in a row`;
        last.set(id, change);
      }
    }
  }
  return undefined;
}
