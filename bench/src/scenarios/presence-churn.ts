import { PresenceDuty, type PresenceStore } from '@ovation/dispatcher/presence';
import { encodeTopicBatch } from '@ovation/realtime/encode-batch';
import {
  newEpoch,
  positionIdAt,
  positionIdTime,
  randomTag,
  type TPresencePayload,
  type TPublishEvent,
} from '@ovation/shared';
import { quantile, SETTINGS, type SimNodes, sleep, TOPIC } from './presence-model.js';

/*
 * Presence traffic under churn: every second `perSecond` watchers join and as many leave (their
 * last connection closed: they leave after the grace), for `seconds`; the real PresenceDuty runs
 * every interval, half an interval after the nodes' flush, and publishes into a stub that records
 * the events. Each event is then encoded as a node writes it to every viewer of the topic
 * (encode-batch, with a position id of this region), against the naive design of one event per
 * join or leave. The counts are checked against the model: the last event's, and the joins and
 * leaves all events announce (names + `more`).
 */

type DutyDeps = ConstructorParameters<typeof PresenceDuty>[0];

export interface Traffic {
  /** From the first flush with churn to a second after the last (longer than asked when flushes lag). */
  windowSeconds: number;
  /** Joins per second, and as many leaves, over the window. */
  churnPerSecond: number;
  /** Events published in the window (the rounds after it drain the last departures). */
  events: number;
  maxEventsPerRound: number;
  meanNames: number;
  meanFrameBytes: number;
  bytesPerViewerPerSecond: number;
  naive: { eventsPerSecond: number; frameBytes: number; bytesPerViewerPerSecond: number };
  dutyRoundMs: { p50: number; max: number };
  /** A flush of arrivals and departures only (not a refresh of everyone). */
  flushMs: { p50: number; max: number };
  last: TPresencePayload | undefined;
}

const INTERVAL_MS = 1000;
const REGION = 'eu-west';

export async function churn(
  store: PresenceStore,
  nodes: SimNodes,
  options: { seconds: number; perSecond: number },
  failures: string[],
): Promise<Traffic> {
  const { watchers } = nodes;
  const { seconds, perSecond } = options;
  const recorded: Array<{ round: number; at: number; event: TPublishEvent }> = [];
  let round = -1;
  let warnings = 0;
  const noop = () => {};
  const log: DutyDeps['log'] = {
    level: 'warn',
    fatal: noop,
    error: noop,
    warn: (...args: unknown[]) => {
      if (++warnings <= 3) failures.push(`presence round failed: ${JSON.stringify(args[0]).slice(0, 200)}`);
    },
    info: noop,
    debug: noop,
    trace: noop,
    silent: noop,
    child: () => log,
  };
  const duty = new PresenceDuty({
    store,
    duties: { claimDuty: async () => true, releaseDuty: async () => {} },
    publisher: {
      publish: async (events) => {
        for (const event of events) recorded.push({ round, at: performance.now(), event });
        return events.map(() => randomTag(8));
      },
      acceptRelayed: async () => {
        throw new Error('nothing is relayed in this bench');
      },
    },
    holderId: 'bench',
    intervalMs: INTERVAL_MS,
    log,
  });
  // Whatever earlier phases left goes out before the window.
  await duty.tick();
  recorded.length = 0;

  let joinedAccounts = 0;
  let leftAccounts = 0;
  const flushMs: number[] = [];
  const roundMs: number[] = [];
  const started = performance.now();
  // Bounds: the flushes lag behind the clock when the store is slow (a refresh of everyone is
  // one node's flush here), so each loop also stops at a deadline.
  const deadline = started + (2 * seconds + 30) * INTERVAL_MS;
  const at = (ms: number) => sleep(Math.max(0, started + ms - performance.now()));
  /** When the last flush with churn started (the window ends a second later), and when it ended. */
  let lastChurn: { at: number; done: number } | undefined;
  let dutyDone = false;
  const nodeLoop = async () => {
    for (let s = 0; !dutyDone && performance.now() < deadline; s++) {
      await at(s * INTERVAL_MS);
      const churning = s < seconds;
      const flushStarted = performance.now();
      const left = churning ? watchers.remove(perSecond) : [];
      const joined = churning ? watchers.add(perSecond) : [];
      joinedAccounts += joined.filter((m) => m.name !== undefined).length;
      leftAccounts += left.filter((m) => m.name !== undefined).length;
      // A flush sends the arrivals, or everyone when a refresh is due, and the departures.
      const refresh = nodes.refreshDue;
      if (refresh) nodes.refreshed();
      await nodes.send(refresh ? watchers.members : joined, left);
      if (!refresh && churning) flushMs.push(performance.now() - flushStarted);
      if (s === seconds - 1) lastChurn = { at: flushStarted, done: performance.now() };
    }
  };
  // Rounds until the last departures are past the grace, and two rounds more.
  const dutyLoop = async () => {
    const drained = () =>
      lastChurn !== undefined && performance.now() > lastChurn.done + SETTINGS.graceMs + 2 * INTERVAL_MS;
    for (let k = 0; !drained() && performance.now() < deadline; k++) {
      await at(k * INTERVAL_MS + INTERVAL_MS / 2);
      round = k;
      const roundStarted = performance.now();
      await duty.tick();
      roundMs.push(performance.now() - roundStarted);
    }
    dutyDone = true;
  };
  await Promise.all([nodeLoop(), dutyLoop()]);
  if (!lastChurn || performance.now() >= deadline) failures.push('the churn did not finish before its deadline');
  const windowMs = (lastChurn?.at ?? started) + INTERVAL_MS - started;

  // At most one `presence` event per topic per round, and the counts exact.
  const perRound = new Map<number, number>();
  for (const { round } of recorded) perRound.set(round, (perRound.get(round) ?? 0) + 1);
  const maxEventsPerRound = Math.max(0, ...perRound.values());
  if (maxEventsPerRound > 1) failures.push(`${maxEventsPerRound} presence events for the topic in one round`);
  const payloads = recorded.map(({ event }) => event.data as TPresencePayload);
  const last = payloads.at(-1);
  const sum = (pick: (p: TPresencePayload) => number) => payloads.reduce((total, p) => total + pick(p), 0);
  const joins = sum((p) => p.joined.length + (p.more?.joined ?? 0));
  const leaves = sum((p) => p.left.length + (p.more?.left ?? 0));
  const listed = (await store.list(TOPIC, undefined, 1)).count;
  if (last?.count !== watchers.accounts || last.guests !== watchers.guests || listed !== watchers.accounts) {
    failures.push(
      `last event counts ${last?.count} accounts, ${last?.guests} guests (list: ${listed}); ` +
        `present: ${watchers.accounts} accounts, ${watchers.guests} guests`,
    );
  }
  if (joins !== joinedAccounts || leaves !== leftAccounts) {
    failures.push(
      `events announce ${joins} joins, ${leaves} leaves; accounts joined ${joinedAccounts}, left ${leftAccounts}`,
    );
  }

  // Bytes as a node writes them to each viewer: the frames of the events published during the churn.
  const epoch = newEpoch();
  const frameBytes = (data: TPresencePayload, pos: number) => {
    const ts = Date.now();
    const id = positionIdAt(positionIdTime(ts), 100_000 + pos, epoch, REGION);
    return Buffer.byteLength(encodeTopicBatch([{ id, topic: TOPIC, type: 'presence', data, ts, region: REGION }]).text);
  };
  const window = recorded
    .filter(({ at }) => at - started <= windowMs)
    .map(({ event }) => event.data as TPresencePayload);
  const bytes = window.reduce((total, data, i) => total + frameBytes(data, i), 0);
  // The naive design: one event per join or leave, naming its member, with the counts.
  const sample = watchers.members.find((m) => m.name !== undefined) ?? { id: 'u-0', name: 'Viewer 0' };
  const naiveFrame = frameBytes(
    {
      joined: [{ id: sample.id, name: sample.name ?? '' }],
      left: [],
      count: watchers.accounts,
      guests: watchers.guests,
    },
    window.length,
  );
  const windowSeconds = windowMs / 1000;
  const churnPerSecond = (seconds * perSecond) / windowSeconds;
  return {
    windowSeconds,
    churnPerSecond,
    events: window.length,
    maxEventsPerRound,
    meanNames: window.length > 0 ? window.reduce((n, p) => n + p.joined.length + p.left.length, 0) / window.length : 0,
    meanFrameBytes: window.length > 0 ? bytes / window.length : 0,
    bytesPerViewerPerSecond: bytes / windowSeconds,
    naive: {
      eventsPerSecond: 2 * churnPerSecond,
      frameBytes: naiveFrame,
      bytesPerViewerPerSecond: 2 * churnPerSecond * naiveFrame,
    },
    dutyRoundMs: { p50: quantile(roundMs, 0.5), max: quantile(roundMs, 1) },
    flushMs: { p50: quantile(flushMs, 0.5), max: quantile(flushMs, 1) },
    last,
  };
}
