import { writeFileSync } from 'node:fs';
import { checkDeliveries, checkProcesses, type DeliveryResult, type ProcessResult } from './checker.js';
import { type AppliedFault, FaultInjector } from './injector.js';
import { checkPresence, type PresenceResult } from './presence.js';
import { sleep } from './processes.js';
import { DirectPublisher, newPublishLog, type PublishLog, WebPublisher } from './publishers.js';
import { Random } from './random.js';
import {
  PRESENCE_GRACE_MS,
  PRESENCE_TTL_MS,
  startTopology,
  TOKEN,
  type Topology,
  VIEWER_COUNT_INTERVAL_MS,
  viewerToken,
} from './topology.js';
import { ClientViewer } from './viewers/client.js';
import { RawViewer } from './viewers/raw.js';
import { ViewerRecord, type ViewerSpec } from './viewers/record.js';
import { StandardViewer } from './viewers/standard.js';

/*
 * One run of the fault suite:
 *
 *   start the topology ─▶ web videos, viewers (3 kinds × topics × regions) ─▶ publishers
 *     ─▶ faults for the run's duration (viewers keep joining meanwhile)
 *     ─▶ quiesce: faults over, every process back, every viewer connected
 *     ─▶ viewer counts must converge; end markers through both regions; every viewer gets them
 *     ─▶ check (checker.ts) and report (report.ts)
 */

export interface RunOptions {
  seed: number;
  durationMs: number;
  /** Suite topics published straight to the dispatchers. */
  directTopics: number;
  /** Web videos published through the product API. */
  webVideos: number;
  /** Regions whose realtime store is a Redis Cluster (the rest: one Redis server each). */
  clusterRegions: string[];
  log: (line: string) => void;
  /** Where the services' own logs go at the end (the end of each one's output). */
  logsPath?: string;
}

export interface RunResult {
  options: Omit<RunOptions, 'log'>;
  faults: AppliedFault[];
  publish: PublishLog;
  deliveries: DeliveryResult;
  processes: ProcessResult;
  viewerCounts: { convergedMs: number | undefined; limitMs: number; wrongAtViewers: string[] };
  /** Presence after the faults: when every region's lists matched (ms after quiesce), viewers checked for repeats. */
  presence: PresenceResult;
  gaveUp: string[];
  statusWrong: string[];
  viewerKinds: Record<string, number>;
  quiesceMs: number;
  failures: string[];
}

type Viewer = ClientViewer | StandardViewer | RawViewer;

export async function runFaults(options: RunOptions): Promise<RunResult> {
  const random = new Random(options.seed);
  const { log } = options;
  log(`starting the topology (seed ${options.seed})`);
  const topology = await startTopology({
    clusterRegions: options.clusterRegions,
    random: () => random.fork(1).next(),
  });
  const memory = setInterval(() => {
    for (const p of topology.processes) p.sampleRss();
  }, 2000);
  try {
    return await run(topology, random, options);
  } finally {
    clearInterval(memory);
    if (options.logsPath) {
      const text = topology.processes.map((p) => `===== ${p.name}\n${p.logs}`).join('\n');
      writeFileSync(options.logsPath, text);
    }
    await topology.stop();
  }
}

async function run(topology: Topology, random: Random, options: RunOptions): Promise<RunResult> {
  const { log } = options;
  const publish = newPublishLog();
  const web = topology.web.url;
  const regions = topology.regions;
  const first = regions[0] as (typeof regions)[number];

  // The web app's videos: an owner (an account) creates and starts them; a guest comments and likes.
  const owner = new WebPublisher('owner', web, first.name, random.fork(2), publish, 600);
  const fan = new WebPublisher('fan', web, first.name, random.fork(3), publish, 300);
  await owner.signUp();
  await fan.signIn();
  const videos: string[] = [];
  for (let i = 0; i < options.webVideos; i++) videos.push(await owner.createLiveVideo(`faults ${i}`));
  const directTopics = Array.from({ length: options.directTopics }, (_, i) => `faults:t${i}`);
  const topics = [
    ...directTopics.map((topic) => ({ topic, web: false })),
    ...videos.map((v) => ({ topic: `video:${v}`, web: true })),
  ];

  // Viewers: every topic, in every region, of every kind; more join while faults run.
  const records: ViewerRecord[] = [];
  const viewers: Viewer[] = [];
  const reload = async (record: ViewerRecord) => {
    if (!record.spec.web) return;
    try {
      const response = await fetch(`${web}/api/videos/${record.spec.topic.slice('video:'.length)}/comments?limit=200`);
      const { comments } = (await response.json()) as { comments: Array<{ id: string }> };
      for (const comment of comments) record.reloaded.add(comment.id);
    } catch {
      // The web tier is down right now: the viewer shows what it has.
    }
  };
  const viewerRandom = random.fork(4);
  const addViewer = (spec: ViewerSpec) => {
    const record = new ViewerRecord(spec);
    const region = regions.find((r) => r.name === spec.region) as (typeof regions)[number];
    let viewer: Viewer;
    if (spec.kind === 'client')
      viewer = new ClientViewer(record, region.nodeUrls, { random: () => viewerRandom.next(), reload });
    else if (spec.kind === 'eventsource') viewer = new StandardViewer(record, region.balancer.url, reload);
    else {
      const ports = region.nodes.map((n) => n.spec.port);
      viewer = new RawViewer(record, ports, viewerRandom.int(0, ports.length - 1), reload);
    }
    records.push(record);
    viewers.push(viewer);
    viewer.start();
  };
  let joined = 0;
  const spec = (topic: { topic: string; web: boolean }, region: string, kind: ViewerSpec['kind']): ViewerSpec => {
    const n = joined++;
    // A video's viewers hold tokens as the web signs them, every other one an account: presence.
    const member = (id: string, name?: string) => ({
      id,
      ...(name ? { name } : {}),
      token: viewerToken(topic.topic, id, name),
    });
    return {
      name: `${kind}-${region}-${topic.topic}-${n}`,
      kind,
      region,
      topic: topic.topic,
      web: topic.web,
      ...(topic.web ? { member: n % 2 === 0 ? member(`u-fan${n}`, `Fan ${n}`) : member(`g-fan${n}`) } : {}),
    };
  };
  for (const topic of topics) {
    for (const region of regions) {
      for (const kind of ['client', 'client', 'eventsource', 'raw'] as const) addViewer(spec(topic, region.name, kind));
    }
  }
  await waitUntil(() => records.every((r) => r.subscribedAt !== undefined), 60_000, 'every viewer subscribed', log);

  // Publishers: straight to each region's dispatchers, and through the web app.
  const direct = regions.map(
    (region) =>
      new DirectPublisher(
        `${region.name}-direct`,
        region.name,
        region.dispatchers.map((d) => d.url),
        directTopics,
        TOKEN,
        random.fork(10 + regions.indexOf(region)),
        publish,
        150,
      ),
  );
  for (const publisher of direct) publisher.start();
  const liveVideos = [...videos];
  owner.start(liveVideos, true);
  fan.start(liveVideos, false);

  log(`faults for ${Math.round(options.durationMs / 1000)} s`);
  const injector = new FaultInjector(topology, random.fork(5), log);
  injector.start(options.durationMs);
  const joinRandom = random.fork(6);
  const runUntil = Date.now() + options.durationMs;
  // Half way, the broadcaster ends the last video: a status change through the web app.
  const ending = videos.length > 1 ? videos.at(-1) : undefined;
  let ended = false;
  while (Date.now() < runUntil) {
    if (ending && !ended && Date.now() > runUntil - options.durationMs / 2) {
      liveVideos.splice(liveVideos.indexOf(ending), 1);
      ended = await owner.endVideo(ending);
      log(`the broadcaster ended video ${ending}`);
    }
    await sleep(Math.min(10_000, runUntil - Date.now()));
    if (Date.now() < runUntil - 5000) {
      addViewer(
        spec(
          joinRandom.pick(topics),
          joinRandom.pick(regions).name,
          joinRandom.pick(['client', 'eventsource', 'raw'] as const),
        ),
      );
    }
  }

  // Quiesce: no new faults, the ones in force end, every process is back, publishers finish.
  log('quiescing');
  const quiesceStart = Date.now();
  await injector.stop();
  await Promise.all([...direct.map((p) => p.stop()), owner.stop(), fan.stop()]);
  await waitUntil(() => records.every((r) => r.open), 90_000, 'every viewer connected again', log);
  const quiescedAt = Date.now();

  // Viewer counts: the truth is the number of viewers of each topic, over both regions.
  const truth = new Map<string, number>();
  for (const record of records) truth.set(record.spec.topic, (truth.get(record.spec.topic) ?? 0) + 1);
  let convergedMs: number | undefined;
  let mismatch = '';
  const countsDeadline = quiescedAt + 30_000;
  while (Date.now() < countsDeadline) {
    mismatch = await countsMismatch(
      regions.map((r) => r.dispatchers),
      truth,
    );
    if (!mismatch) {
      convergedMs = Date.now() - quiescedAt;
      break;
    }
    await sleep(100);
  }
  if (mismatch) log(`viewer counts did not converge: ${mismatch}`);

  // End markers through both regions; every viewer must receive both of its topic's.
  const markerSeq = (region: string) => `marker-${region}`;
  for (const publisher of direct) await publisher.marker(markerSeq(publisher.name.split('-')[0] as string));
  const markerKeys = (topic: string) =>
    topic.startsWith('faults:') ? regions.map((r) => `seq:${markerSeq(r.name)}:${topic}`) : [];
  // Web videos get their marker through the web app (a comment each).
  const webMarkers = new Map<string, string>();
  for (const video of liveVideos) {
    const response = await fetch(`${web}/api/videos/${video}/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: web, cookie: fan.sessionCookie },
      body: JSON.stringify({ text: 'marker' }),
    });
    if (response.status !== 201) throw new Error(`the end marker of video ${video} was refused: ${response.status}`);
    const { comment } = (await response.json()) as { comment: { id: string } };
    webMarkers.set(`video:${video}`, `comment:${comment.id}`);
  }
  const allMarkers = (topic: string) => [
    ...markerKeys(topic),
    ...(webMarkers.has(topic) ? [webMarkers.get(topic) as string] : []),
  ];
  await waitUntil(
    () => records.every((r) => allMarkers(r.spec.topic).every((key) => hasKey(r, key))),
    60_000,
    'every viewer to get its end markers',
    log,
  );
  // One more interval: the viewers' own last `viewers` event must say the truth too.
  await sleep(VIEWER_COUNT_INTERVAL_MS * 2);
  const wrongAtViewers = records
    .filter((r) => r.lastViewerCount() !== truth.get(r.spec.topic))
    .map((r) => `${r.spec.name}: ${r.lastViewerCount()} (truth ${truth.get(r.spec.topic)})`);

  // Presence: every region's list comes to name exactly the accounts watching each video and to
  // count its guests, and no continuously connected viewer saw anyone join or leave twice in a row.
  const presence = await checkPresence(
    records,
    regions.map((r) => r.dispatchers[0]?.url ?? ''),
    {
      since: quiescedAt,
      limitMs: PRESENCE_TTL_MS + PRESENCE_GRACE_MS + 10_000,
    },
  );
  if (presence.mismatch) log(`presence did not converge: ${presence.mismatch}`);

  const gaveUp = viewers.filter((v) => v instanceof StandardViewer && v.gaveUp).map((v) => v.record.spec.name);
  for (const viewer of viewers) viewer.stop();

  const deliveries = checkDeliveries(records, publish.accepted, allMarkers);
  // The ended video's viewers all show it ended (from the status event or a snapshot).
  const statusWrong = ended
    ? records.filter((r) => r.spec.topic === `video:${ending}` && r.lastStatus() !== 'ended').map((r) => r.spec.name)
    : [];
  const processes = checkProcesses(topology.processes);
  const limitMs = VIEWER_COUNT_INTERVAL_MS * 2;
  const failures: string[] = [];
  if (deliveries.likeTotals.wrong.length > 0) {
    // Whether the regions' logs hold the wrong total too (the store lost likes) or only viewers do.
    for (const region of regions) {
      const totals = await logLikeTotals(region.dispatchers[0]?.url ?? '', [...truth.keys()]);
      log(`${region.name} log like totals: ${totals}`);
    }
  }
  failures.push(...injector.problems);
  if (deliveries.lost > 0) failures.push(`${deliveries.lost} events lost`);
  if (deliveries.duplicated > 0) failures.push(`${deliveries.duplicated} events duplicated`);
  if (deliveries.outOfOrder > 0) failures.push(`${deliveries.outOfOrder} events out of order`);
  if (deliveries.likeTotals.wrong.length > 0)
    failures.push(`${deliveries.likeTotals.wrong.length} viewers with a wrong like total`);
  if (deliveries.reactionTotals.wrong.length > 0)
    failures.push(`${deliveries.reactionTotals.wrong.length} viewers with wrong totals per reaction`);
  if (deliveries.missingMarkers.length > 0) failures.push(`${deliveries.missingMarkers.length} end markers missing`);
  if (deliveries.neverSubscribed.length > 0)
    failures.push(`${deliveries.neverSubscribed.length} viewers never subscribed`);
  if (convergedMs === undefined || convergedMs > limitMs)
    failures.push(`viewer counts converged in ${convergedMs ?? 'never'} ms (limit ${limitMs})`);
  if (wrongAtViewers.length > 0) failures.push(`${wrongAtViewers.length} viewers show a wrong viewer count`);
  if (presence.convergedMs === undefined)
    failures.push(`presence lists never matched the viewers: ${presence.mismatch}`);
  if (presence.repeated.length > 0)
    failures.push(`${presence.repeated.length} viewers saw someone join or leave twice in a row`);
  if (statusWrong.length > 0) failures.push(`${statusWrong.length} viewers do not show the ended video as ended`);
  if (gaveUp.length > 0) failures.push(`${gaveUp.length} standard EventSource viewers gave up`);
  if (processes.crashes.length > 0) failures.push(`${processes.crashes.length} processes crashed`);
  if (processes.policyEvents.length > 0)
    failures.push(`${processes.policyEvents.length} unhandled rejections or exceptions`);
  const grew = processes.memory.filter((m) => m.grew);
  if (grew.length > 0) failures.push(`memory kept growing in ${grew.map((m) => m.name).join(', ')}`);
  const viewerKinds: Record<string, number> = {};
  for (const record of records) viewerKinds[record.spec.kind] = (viewerKinds[record.spec.kind] ?? 0) + 1;

  return {
    options: {
      seed: options.seed,
      durationMs: options.durationMs,
      directTopics: options.directTopics,
      webVideos: options.webVideos,
      clusterRegions: options.clusterRegions,
    },
    faults: injector.applied,
    publish,
    deliveries,
    processes,
    viewerCounts: { convergedMs, limitMs, wrongAtViewers },
    presence,
    statusWrong,
    gaveUp,
    viewerKinds,
    quiesceMs: quiescedAt - quiesceStart,
    failures,
  };
}

function hasKey(record: ViewerRecord, key: string): boolean {
  return record.events.some((e) => {
    if (typeof e.data.seq === 'string') return `seq:${e.data.seq}` === key;
    return e.type === 'comment' && `comment:${String(e.data.id)}` === key;
  });
}

/** Each topic's like total as a region's log holds it (the dispatcher's catch-up read), for diagnosis. */
async function logLikeTotals(dispatcherUrl: string, topics: readonly string[]): Promise<string> {
  try {
    const response = await fetch(`${dispatcherUrl}/internal/catch-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ topics: topics.map((topic) => ({ topic })) }),
      signal: AbortSignal.timeout(2000),
    });
    const body = (await response.json()) as { topics?: Array<{ topic: string; likes: number; epoch: string }> };
    return (body.topics ?? []).map((t) => `${t.topic} ${t.likes} (epoch ${t.epoch})`).join(', ');
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
}

/** The first topic whose count a region's dispatcher gets wrong ('' when every one is right). */
async function countsMismatch(
  regionDispatchers: ReadonlyArray<ReadonlyArray<{ url: string }>>,
  truth: ReadonlyMap<string, number>,
): Promise<string> {
  for (const dispatchers of regionDispatchers) {
    for (const [topic, count] of truth) {
      const url = `${dispatchers[0]?.url}/topics/${encodeURIComponent(topic)}/viewers`;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        const body = (await response.json()) as { count?: number };
        if (body.count !== count) return `${url}: ${JSON.stringify(body)}, truth ${count}`;
      } catch (error) {
        return `${url}: ${(error as Error).message}`;
      }
    }
  }
  return '';
}

async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
  what: string,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      log(`gave up waiting for ${what} after ${timeoutMs} ms`);
      return;
    }
    await sleep(100);
  }
}
