import {
  COUNTED_REACTIONS,
  IDEMPOTENCY_TTL_MS,
  newEpoch,
  randomTag,
  reactionTotals,
  type TReactionCounts,
} from '@ovation/shared';
import { groupBySlot, isCluster, type RedisClient, slotOf, slotTag } from '@ovation/shared/redis';
import type { Redis } from 'ioredis';
import type { RedisNodeRegistry } from '../registry/redis/nodes.js';
import { type Durability, type ReplicaConfirmations, replicaConfirmations } from './confirmations.js';
import {
  type AcceptRequest,
  type AcceptResult,
  DEFAULT_TOPIC_LOG_LIMITS,
  dedupeRange,
  HISTORY_TRIM_SLACK,
  RELAY_DEDUPE_TTL_MS,
  type ReadRequest,
  type RestoredState,
  type TopicAppend,
  type TopicLog,
  type TopicLogLimits,
  type TopicRead,
} from './topic-log.js';

const STORE_LOST = 'OVATION_STORE_LOST';

/*
 * Redis layout (next to the registry's keys, under the same prefix). A topic's keys share the hash
 * tag `{<t>}`, so on Redis Cluster they live in one slot; `{s}` is that slot's own tag (slotTag),
 * present on a cluster only — on one server those keys have no tag:
 *   <p>:topic:{<t>}:log      HASH   epoch, pos, trimmed (history lost up to), likes, status, viewers,
 *                                   likes:<reaction> (each but `like`, which is the rest of likes)
 *   <p>:topic:{<t>}:history  STREAM one entry per history event, entry id = <position>-0, field e = JSON
 *   <p>:topic:{<t>}:nodes    SET    (the registry's) nodes with viewers of t
 *   <p>:{<t>}:relayed:<region>:<epoch>:<chunk>  BITMAP positions of that region's log of t already
 *                                 accepted here by relay (dedupe), 64Ki positions a key, 1 h TTL
 *   <p>:idem:r[:{s}]:<key>   STRING what a used request key answers for its topics in slot s (10 min):
 *                                 see AcceptRequest
 *   <p>:idem:e:{<t>}:<key>   STRING what a used event key answers on topic t (10 min)
 *   <p>:idem:x:{<t>}:<region>:<relayKey>  STRING a relayed event's key in its region, seen (10 min)
 *   <p>:relay:<peer>[:{s}]   STREAM events published here, waiting for peer region <peer> (relay/outbox.ts):
 *                                 entries n <events> b <bytes> e <wire events>; :size HASH events,
 *                                 bytes; on a cluster one per slot, each with its share of the bounds
 *   <p>:relay:<peer>:slots   ZSET   (cluster) slots whose outbox may hold entries, for the relayer
 *   <p>:store[:{s}]          STRING a random marker set once (per slot on a cluster): a Redis that
 *                                 lost its data (restarted empty, flushed) no longer has it, and the
 *                                 next publish sees so
 *
 * A publish is one script call for all its topics in one hash slot — on one server, all of them —
 * so accepting a batch costs one round trip: positions, history, like total, status and the node
 * look-up together. The script runs atomically, which is what lets a new subscriber's read meet the
 * live stream at an exact position. On a cluster the publisher splits a batch per slot (shardOf).
 * The log hash lives `stateTtlMs` after the topic's last event, the stream `maxAgeMs` + 1 min.
 *
 * Durability: with `waitReplicas` > 0 an accept is confirmed only once that many replicas of the
 * slot's master have it (WAIT on the connection that wrote it); an accept they did not confirm in
 * time is marked `unreplicated`, and the publisher answers 503 and delivers none of it (a master
 * that dies before its replica has the events must not leave a 202 behind, and one its replica
 * replaced while it was stopped must not show viewers events the log will not have). Reads for
 * nodes, and answers found in the store (a repeated key), are confirmed the same way first; so are
 * the relay outbox's entries before they go to a peer (confirmations.ts).
 *
 * Store loss: the registry was lost with the data, so until the nodes have re-registered (their
 * next heartbeat) a publish would find no node and its 202 would not reach connected viewers. The
 * accept script checks the marker atomically; on a mismatch the publish fails (503), a new marker
 * is set, and `onStoreLost` lets the dispatcher refuse publishes until the nodes are back.
 */

/** The log hash's fields of COUNTED_REACTIONS, as Lua arguments. */
const REACTION_FIELDS = COUNTED_REACTIONS.map((name) => `'likes:${name}'`).join(', ');

/** Counts of COUNTED_REACTIONS as one script argument, `name=n,…` (`like`, the rest, is left out). */
function reactionText(counts: TReactionCounts): string {
  return COUNTED_REACTIONS.flatMap((name) => (counts[name] ? [`${name}=${counts[name]}`] : [])).join(',');
}

// KEYS: the store marker, then per topic: log hash, history stream, nodes set; then one relay
//   outbox stream per peer region (with `relay` on).
// ARGV: maxEvents, trim threshold, history TTL ms, state TTL ms, expected marker, dedupe TTL ms,
//   idempotency TTL ms, id time part, request key ('' none), request size, outboxes (P), outbox
//   bound in events, region, outbox bound in bytes, outbox age bound ms,
//   p prefilled answers, p × (request index, answer),
//   then per topic: count, likeDelta, reactions of it (reactionText), status ('' none), viewers ('' none),
//   new epoch, n history entries,
//   n × (index, body), d dedupe marks, d × (index, bitmap key, bit), k keys, k × (index, key),
//   with a request key: count × request index, and r relay-only bodies, r × (index, body).
// Returns per topic: epoch, base position, node ids, then per outbox the events it dropped to stay
// within its bounds — or {-2, answers} when the request key was used — or {-1, topic, index,
// answer ('' for a relayed mark), …} naming events already accepted (nothing is written then) —
// or the error STORE_LOST.
const ACCEPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[5] then return redis.error_reply('${STORE_LOST}') end
local maxEvents, trimAt, historyTtl, stateTtl, dedupeTtl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[6]
local idemTtl, time, requestKey, requestSize = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local outboxes, outboxEvents, region = tonumber(ARGV[11]), tonumber(ARGV[12]), ARGV[13]
local outboxBytes, outboxAge = tonumber(ARGV[14]), tonumber(ARGV[15])
if requestKey ~= '' then
  local done = redis.call('GET', requestKey)
  if done then return { -2, done } end
end
local a = 16
local answers = {}
for i = 1, tonumber(ARGV[a]) do answers[tonumber(ARGV[a + 2 * i - 1]) + 1] = ARGV[a + 2 * i] end
a = a + 1 + 2 * tonumber(ARGV[a])
local topics = (#KEYS - 1 - outboxes) / 3
local specs = {}
for t = 1, topics do
  local s = { count = tonumber(ARGV[a]), likeDelta = tonumber(ARGV[a + 1]), reactions = ARGV[a + 2],
    status = ARGV[a + 3], viewers = ARGV[a + 4], epoch = ARGV[a + 5], history = {}, marks = {}, keys = {},
    order = {}, bodies = {} }
  local n = tonumber(ARGV[a + 6])
  a = a + 7
  for h = 1, n do
    s.history[h] = { tonumber(ARGV[a]), ARGV[a + 1] }
    s.bodies[tonumber(ARGV[a])] = ARGV[a + 1]
    a = a + 2
  end
  local d = tonumber(ARGV[a])
  a = a + 1
  for m = 1, d do s.marks[m] = { ARGV[a], ARGV[a + 1], ARGV[a + 2] }; a = a + 3 end
  local k = tonumber(ARGV[a])
  a = a + 1
  for m = 1, k do s.keys[m] = { tonumber(ARGV[a]), ARGV[a + 1] }; a = a + 2 end
  if requestKey ~= '' then
    for e = 1, s.count do s.order[e] = tonumber(ARGV[a]); a = a + 1 end
  end
  if outboxes > 0 then
    local r = tonumber(ARGV[a])
    a = a + 1
    for m = 1, r do s.bodies[tonumber(ARGV[a])] = ARGV[a + 1]; a = a + 2 end
  end
  specs[t] = s
end
local dups = {}
for t = 1, topics do
  for _, m in ipairs(specs[t].marks) do
    if redis.call('GETBIT', m[2], m[3]) == 1 then
      dups[#dups + 1] = t - 1; dups[#dups + 1] = tonumber(m[1]); dups[#dups + 1] = ''
    end
  end
  for _, m in ipairs(specs[t].keys) do
    local known = redis.call('GET', m[2])
    if known then dups[#dups + 1] = t - 1; dups[#dups + 1] = m[1]; dups[#dups + 1] = known end
  end
end
if #dups > 0 then
  table.insert(dups, 1, -1)
  return dups
end
local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
local function base36(n)
  local text = ''
  repeat
    local r = n % 36
    text = string.sub(digits, r + 1, r + 1) .. text
    n = (n - r) / 36
  until n == 0
  return text
end
local out = {}
local wires = {}
for t = 1, topics do
  local s = specs[t]
  local log, history, nodes = KEYS[t * 3 - 1], KEYS[t * 3], KEYS[t * 3 + 1]
  local epoch = redis.call('HGET', log, 'epoch')
  if not epoch then
    epoch = s.epoch
    redis.call('DEL', history)
    redis.call('HSET', log, 'epoch', epoch, 'pos', 0, 'trimmed', 0, 'likes', 0)
  end
  local base = redis.call('HINCRBY', log, 'pos', s.count) - s.count
  if s.likeDelta > 0 then redis.call('HINCRBY', log, 'likes', s.likeDelta) end
  for name, n in string.gmatch(s.reactions, '(%a+)=(%d+)') do redis.call('HINCRBY', log, 'likes:' .. name, n) end
  if s.status ~= '' then redis.call('HSET', log, 'status', s.status) end
  if s.viewers ~= '' then redis.call('HSET', log, 'viewers', s.viewers) end
  if #s.history > 0 then
    for _, h in ipairs(s.history) do
      redis.call('XADD', history, string.format('%d-0', base + h[1] + 1), 'e', h[2])
    end
    if redis.call('XLEN', history) > trimAt then
      redis.call('XTRIM', history, 'MAXLEN', maxEvents)
      local first = redis.call('XRANGE', history, '-', '+', 'COUNT', 1)[1]
      redis.call('HSET', log, 'trimmed', tonumber(string.match(first[1], '^(%d+)')) - 1)
    end
    redis.call('PEXPIRE', history, historyTtl)
  end
  for _, m in ipairs(s.marks) do
    redis.call('SETBIT', m[2], m[3], 1)
    redis.call('PEXPIRE', m[2], dedupeTtl)
  end
  for _, m in ipairs(s.keys) do
    redis.call('SET', m[2], string.format('%s:%d:%s', time, base + m[1] + 1, epoch), 'PX', idemTtl)
  end
  for e, index in ipairs(s.order) do answers[index + 1] = string.format('%s:%d:%s', time, base + e, epoch) end
  if outboxes > 0 then
    -- The wire event of each relayed one, as the dispatcher builds it (publisher.ts): its id in front.
    for e = 0, s.count - 1 do
      local body = s.bodies[e]
      if body then
        local id = time .. '-' .. base36(base + e + 1) .. '-' .. epoch .. '-' .. region
        wires[#wires + 1] = '{"id":"' .. id .. '",' .. string.sub(body, 2)
      end
    end
  end
  redis.call('PEXPIRE', log, stateTtl)
  out[#out + 1] = epoch
  out[#out + 1] = base
  out[#out + 1] = redis.call('SMEMBERS', nodes)
end
local dropped = {}
for o = 1, outboxes do dropped[o] = 0 end
if #wires > 0 then
  local entry = table.concat(wires, ',')
  local clock = redis.call('TIME')
  local oldest = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) - outboxAge
  for o = 1, outboxes do
    local key = KEYS[#KEYS - outboxes + o]
    local size = key .. ':size'
    redis.call('XADD', key, '*', 'n', #wires, 'b', #entry, 'e', entry)
    local events = redis.call('HINCRBY', size, 'events', #wires)
    local bytes = redis.call('HINCRBY', size, 'bytes', #entry)
    -- Past its bounds, or older than a peer could still recognise if sent again: the oldest go.
    for round = 1, 100 do
      local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
      if not first then break end
      local ms = tonumber(string.match(first[1], '^(%d+)'))
      if events <= outboxEvents and bytes <= outboxBytes and ms >= oldest then break end
      redis.call('XDEL', key, first[1])
      events = redis.call('HINCRBY', size, 'events', -tonumber(first[2][2]))
      bytes = redis.call('HINCRBY', size, 'bytes', -tonumber(first[2][4]))
      dropped[o] = dropped[o] + tonumber(first[2][2])
    end
  end
end
for o = 1, outboxes do out[#out + 1] = dropped[o] end
if requestKey ~= '' then
  local parts = {}
  for i = 1, requestSize do parts[i] = answers[i] or '' end
  redis.call('SET', requestKey, table.concat(parts, ','), 'PX', idemTtl)
end
return out`;

// KEYS: per topic: log hash, history stream. ARGV: TTL ms of a log made by a read (short: a topic
// nobody publishes to must not hold memory for a day), history bytes per topic, history bytes per
// call, then per topic: new epoch, from position ('' for none), n, then the n epochs the history
// is wanted for (none: any).
// Returns per topic: epoch, pos, trimmed, likes, status ('' none), history entries [id, [field, value]],
// viewers ('' none), 1 when its history did not fit the budgets (then it is cut short), the counts of
// COUNTED_REACTIONS in their order.
const READ = `
local out = {}
local a = 4
local left = tonumber(ARGV[3])
for t = 1, #KEYS / 2 do
  local log, history = KEYS[t * 2 - 1], KEYS[t * 2]
  local epoch, from, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local s = redis.call('HMGET', log, 'epoch', 'pos', 'trimmed', 'likes', 'status', 'viewers', ${REACTION_FIELDS})
  if not s[1] then
    redis.call('DEL', history)
    redis.call('HSET', log, 'epoch', epoch, 'pos', 0, 'trimmed', 0, 'likes', 0)
    redis.call('PEXPIRE', log, ARGV[1])
    s = { epoch, '0', '0', '0', false, false }
    for i = 1, ${COUNTED_REACTIONS.length} do s[6 + i] = false end
  end
  local wanted = from ~= '' and n == 0
  for i = 1, n do if ARGV[a + 2 + i] == s[1] then wanted = from ~= '' end end
  local events = {}
  local cut = 0
  if wanted then
    local budget = math.min(tonumber(ARGV[2]), left)
    local start = '(' .. from .. '-0'
    while true do
      local page = redis.call('XRANGE', history, start, '+', 'COUNT', 100)
      for _, entry in ipairs(page) do
        budget = budget - #entry[2][2]
        if budget < 0 then cut = 1; break end
        left = left - #entry[2][2]
        events[#events + 1] = entry
        start = '(' .. entry[1]
      end
      if cut == 1 or #page < 100 then break end
    end
  end
  local reactions = {}
  for i = 1, ${COUNTED_REACTIONS.length} do reactions[i] = s[6 + i] or '0' end
  out[t] = { s[1], s[2], s[3], s[4], s[5] or '', events, s[6] or '', cut, reactions }
  a = a + 3 + n
end
return out`;

/** History one catch-up read returns per topic, and per script call; past them the read is cut short. */
const READ_TOPIC_BYTES = 1024 * 1024;
const READ_CALL_BYTES = 8 * 1024 * 1024;

/** Topics read by one script call: many per round trip, but no single call holds Redis long. */
const READ_CHUNK = 100;

// KEYS: per topic log hash, history stream. ARGV: state TTL ms, dedupe TTL ms, then per topic: new
// epoch, likes, its reactions (reactionText), status ('' none), viewers ('' none), m dedupe ranges,
// m × (bitmap key, first bit, last bit). See TopicLog.restore.
const RESTORE = `
local stateTtl, dedupeTtl = ARGV[1], ARGV[2]
local a = 3
for t = 1, #KEYS / 2 do
  local log, history = KEYS[t * 2 - 1], KEYS[t * 2]
  local epoch, likes, reactions, status, viewers = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local ranges = tonumber(ARGV[a + 5])
  a = a + 6
  -- The like total with its own reactions: the two are always written together.
  local function setLikes()
    redis.call('HSET', log, 'likes', likes)
    redis.call('HDEL', log, ${REACTION_FIELDS})
    for name, n in string.gmatch(reactions, '(%a+)=(%d+)') do redis.call('HSET', log, 'likes:' .. name, n) end
  end
  for r = 1, ranges do
    local key, first, last = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    a = a + 3
    -- Bits first..last: the odd ones at either end one by one, whole bytes in between at once.
    local bit = first
    while bit <= last and bit % 8 ~= 0 do redis.call('SETBIT', key, bit, 1); bit = bit + 1 end
    local bytes = math.floor((last + 1 - bit) / 8)
    if bytes > 0 then
      redis.call('SETRANGE', key, bit / 8, string.rep(string.char(255), bytes))
      bit = bit + bytes * 8
    end
    while bit <= last do redis.call('SETBIT', key, bit, 1); bit = bit + 1 end
    redis.call('PEXPIRE', key, dedupeTtl)
  end
  local pos = redis.call('HGET', log, 'pos')
  if not pos then
    redis.call('DEL', history)
    redis.call('HSET', log, 'epoch', epoch, 'pos', 0, 'trimmed', 0)
    setLikes()
    redis.call('PEXPIRE', log, stateTtl)
    if status ~= '' then redis.call('HSET', log, 'status', status) end
    if viewers ~= '' then redis.call('HSET', log, 'viewers', viewers) end
  elseif tonumber(pos) == 0 then
    -- Made by a read or an earlier report: someone may hold its state at position 0 already.
    -- A total or status that changes gets a new epoch, so those readers resync instead of
    -- keeping the old one under a position that did not move.
    local changed = false
    if likes > tonumber(redis.call('HGET', log, 'likes') or '0') then
      setLikes()
      changed = true
    end
    if status ~= '' and redis.call('HSETNX', log, 'status', status) == 1 then changed = true end
    if viewers ~= '' then redis.call('HSETNX', log, 'viewers', viewers) end
    if changed then redis.call('HSET', log, 'epoch', epoch) end
  end
end
return 1`;

/**
 * The relay outbox stream of one peer region (relay/outbox.ts): one on one server; on a cluster one
 * per hash slot (`slot`), beside the topics whose events it holds. `<key>:size` counts its events
 * and bytes.
 */
export function outboxKey(prefix: string, peer: string, slot = -1): string {
  return `${prefix}:relay:${peer}${slotPart(slot)}`;
}

/** `:{<tag of slot>}` on a cluster (a key beside that slot's topics); nothing on one server (-1). */
function slotPart(slot: number): string {
  return slot < 0 ? '' : `:{${slotTag(slot)}}`;
}

/** On a cluster: the slots whose outbox for `peer` may hold entries (ZSET slot -> first seen). */
export function outboxIndexKey(prefix: string, peer: string): string {
  return `${prefix}:relay:${peer}:slots`;
}

/**
 * Outbox entries older than this are dropped: well within the peer's memory of what it accepted
 * (RELAY_DEDUPE_TTL_MS), so an entry sent again is never accepted twice.
 */
export const OUTBOX_MAX_AGE_MS = 30 * 60_000;

/**
 * On a cluster, a slot's outbox may hold at least this many bytes (its share of the bound): one
 * publish's entry always fits. Past 64 slots with entries the total may pass the bound by this per slot.
 */
const MIN_OUTBOX_SLOT_BYTES = 64 * 1024;

type WithScripts = RedisClient & {
  ovationTopicAccept(numKeys: number, ...args: string[]): Promise<Array<string | number | string[]>>;
  ovationTopicRead(
    numKeys: number,
    ...args: string[]
  ): Promise<Array<[string, string, string, string, string, Array<[string, string[]]>, string, number, string[]]>>;
};

export class RedisTopicLog implements TopicLog {
  private readonly redis: WithScripts;
  private readonly cluster: boolean;
  /**
   * Confirms with the replicas (durability) what leaves the store: accepts, answers found, reads;
   * the relay outbox asks it too. None when no replica is asked for.
   */
  readonly confirmations: ReplicaConfirmations | undefined;
  /** The store marker per hash slot (one server: slot -1), while fetched or known. */
  private readonly markers = new Map<number, Promise<string>>();
  /**
   * The marker this dispatcher last worked with per slot (kept while `markers` is fetched again): a
   * store found with another one lost its data since, whether or not a publish noticed it then.
   */
  private readonly known = new Map<number, string>();
  /** Relay outboxes sharing the bounds (outboxShare), and when that was read. */
  private share = 1;
  private shareAt = 0;
  /** Called once per loss this dispatcher finds (a publish met it, or the marker read on reconnecting differs). */
  onStoreLost: () => void = () => {};
  /** Called when a peer's outbox dropped its oldest events to stay within its bounds. */
  onOutboxDropped: (peer: string, events: number) => void = () => {};

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly registry: Pick<RedisNodeRegistry, 'resolveNodes'>,
    private readonly limits: TopicLogLimits = DEFAULT_TOPIC_LOG_LIMITS,
    /** Peer regions: published events go to their relay outboxes (`outboxKey`), within these bounds. */
    private readonly relay: { region: string; peers: readonly string[]; maxEvents: number; maxBytes: number } = {
      region: 'local',
      peers: [],
      maxEvents: 0,
      maxBytes: 0,
    },
    durability: Durability = { waitReplicas: 0, waitTimeoutMs: 0 },
  ) {
    this.cluster = isCluster(redis);
    this.confirmations = replicaConfirmations(redis, (slot) => `${prefix}:fence${slotPart(slot)}`, durability);
    if (!('ovationTopicAccept' in redis)) {
      redis.defineCommand('ovationTopicAccept', { lua: ACCEPT });
      redis.defineCommand('ovationTopicRead', { lua: READ });
    }
    this.redis = redis as WithScripts;
    // Read whenever the connection is (back) up — at the start, and after an outage, however long
    // this dispatcher goes without a publish: an idle dispatcher notices a loss as soon as the one
    // that takes the publishes does, and never takes an empty store for the one it knew.
    // On a cluster: the markers of the slots this dispatcher worked with (others are read when met).
    const watched = () => (this.cluster ? [...this.known.keys()] : [-1]);
    redis.on('ready', () => {
      this.markers.clear();
      for (const slot of watched()) this.storeMarker(slot).catch(() => {});
    });
    if (redis.status === 'ready') for (const slot of watched()) this.storeMarker(slot).catch(() => {});
  }

  /**
   * Which accepts may share one call: topics of one hash slot on a cluster; all on one server (-1).
   * The publisher splits a batch by it.
   */
  shardOf(topic: string): number {
    return this.cluster ? slotOf(topic) : -1;
  }

  /**
   * Where an idempotency key's answer lives (keys are printable ASCII, see IDEMPOTENCY_KEY_PATTERN):
   * a request's key, an event's key and a relayed event's key in its region are apart (`r`, `e`,
   * `x`), so one can never answer for another.
   */
  private idempotencyKey(kind: 'e' | 'x', topic: string, key: string): string {
    return `${this.prefix}:idem:${kind}:{${topic}}:${key}`;
  }

  /** A request key's record for the request's topics in `slot` (all of them on one server). */
  private requestKey(slot: number, key: string): string {
    return `${this.prefix}:idem:r${slotPart(slot)}:${key}`;
  }

  private keys(topic: string) {
    const base = `${this.prefix}:topic:{${topic}}`;
    return { log: `${base}:log`, history: `${base}:history`, nodes: `${base}:nodes` };
  }

  /** A relayed event's dedupe bitmap (topic-log.ts dedupeMark), beside its topic. */
  private dedupeKey(topic: string, key: string): string {
    return `${this.prefix}:{${topic}}:${key}`;
  }

  /**
   * The store marker: set if absent (first start, or after a loss), then read. A marker other than
   * the one known before means the store lost its data since — reported here too, because a
   * dispatcher that had no publish to notice one loss must not take the next empty store as its
   * own (it would accept before the nodes gave their state back, and the restore would be refused):
   * the fetch fails then, as a publish that met the loss in the accept script does. Every loss is
   * reported here, whoever noticed it first.
   */
  private storeMarker(slot: number): Promise<string> {
    const current = this.markers.get(slot);
    if (current) return current;
    const fetching: Promise<string> = (async () => {
      const key = `${this.prefix}:store${slotPart(slot)}`;
      await this.redis.set(key, randomTag(), 'NX');
      const value = await this.redis.get(key);
      if (value === null) throw new Error('store marker vanished');
      const before = this.known.get(slot);
      const changed = before !== undefined && value !== before;
      this.known.set(slot, value);
      if (changed) {
        // Nothing is accepted with it yet: the dispatcher first waits for the nodes' state.
        this.onStoreLost();
        throw new Error(STORE_LOST);
      }
      return value;
    })().catch((error: unknown) => {
      // Only its own: a newer fetch (the connection came back meanwhile) stays.
      if (this.markers.get(slot) === fetching) this.markers.delete(slot);
      throw error;
    });
    this.markers.set(slot, fetching);
    return fetching;
  }

  async accept(appends: readonly TopicAppend[], request?: AcceptRequest): Promise<AcceptResult> {
    const { maxEvents, maxAgeMs, stateTtlMs } = this.limits;
    const slot =
      appends[0] === undefined ? (request?.shard ?? (this.cluster ? 0 : -1)) : this.shardOf(appends[0].topic);
    if (appends.some((append) => this.shardOf(append.topic) !== slot)) {
      throw new Error('accept takes topics of one hash slot (split the batch by shardOf)');
    }
    const keys: string[] = [`${this.prefix}:store${slotPart(slot)}`];
    const prefilled = request?.prefilled ?? [];
    const relaying = request?.relay === true && this.relay.peers.length > 0;
    const share = relaying ? await this.outboxShare() : 1;
    const args: string[] = [
      String(maxEvents),
      String(Math.floor(maxEvents * (1 + HISTORY_TRIM_SLACK))),
      String(maxAgeMs + 60_000),
      String(stateTtlMs),
      await this.storeMarker(slot),
      String(RELAY_DEDUPE_TTL_MS),
      String(IDEMPOTENCY_TTL_MS),
      request?.time ?? '',
      request?.key === undefined ? '' : this.requestKey(slot, request.key),
      String(request?.size ?? 0),
      String(relaying ? this.relay.peers.length : 0),
      String(Math.max(1, Math.floor(this.relay.maxEvents / share))),
      this.relay.region,
      String(
        share > 1 ? Math.max(MIN_OUTBOX_SLOT_BYTES, Math.floor(this.relay.maxBytes / share)) : this.relay.maxBytes,
      ),
      String(OUTBOX_MAX_AGE_MS),
      String(prefilled.length),
    ];
    for (const [index, value] of prefilled) args.push(String(index), value);
    appends.forEach((append, a) => {
      const k = this.keys(append.topic);
      keys.push(k.log, k.history, k.nodes);
      args.push(
        String(append.count),
        String(append.likeDelta),
        reactionText(append.reactionDeltas),
        append.status ?? '',
        append.viewers === undefined ? '' : String(append.viewers),
        append.newEpoch,
        String(append.history.length),
      );
      for (const { index, body } of append.history) args.push(String(index), body);
      const marks = append.dedupe ?? [];
      args.push(String(marks.length));
      for (const { index, key, bit } of marks) args.push(String(index), this.dedupeKey(append.topic, key), String(bit));
      const eventKeys = append.keys ?? [];
      const relayKeys = append.relayKeys ?? [];
      args.push(String(eventKeys.length + relayKeys.length));
      for (const { index, key } of eventKeys) args.push(String(index), this.idempotencyKey('e', append.topic, key));
      for (const { index, key } of relayKeys) args.push(String(index), this.idempotencyKey('x', append.topic, key));
      if (request?.key !== undefined) for (const index of request.order[a] ?? []) args.push(String(index));
      if (relaying) {
        const bodies = append.relayBodies ?? [];
        args.push(String(bodies.length));
        for (const { index, body } of bodies) args.push(String(index), body);
      }
    });
    if (relaying) for (const peer of this.relay.peers) keys.push(outboxKey(this.prefix, peer, slot));
    let reply: Array<string | number | string[]>;
    // The connection the script goes out on (the slot map at this moment): confirmations ask it.
    const sentTo = this.confirmations?.connectionOf(slot);
    try {
      reply = await this.redis.ovationTopicAccept(keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.includes(STORE_LOST)) {
        // The new marker at once: reading it reports the loss (storeMarker), before any accept.
        this.markers.delete(slot);
        this.storeMarker(slot).catch(() => {});
      }
      throw error;
    }
    if (reply[0] === -2) {
      const replay = String(reply[1]).split(',');
      return (await (this.confirmations?.soFar(slot, sentTo) ?? true)) ? { replay } : { replay, unreplicated: true };
    }
    if (reply[0] === -1) {
      const duplicates: Array<{ append: number; index: number; answer?: string }> = [];
      for (let i = 1; i + 2 < reply.length; i += 3) {
        const answer = String(reply[i + 2]);
        duplicates.push({
          append: Number(reply[i]),
          index: Number(reply[i + 1]),
          ...(answer === '' ? {} : { answer }),
        });
      }
      return (await (this.confirmations?.soFar(slot, sentTo) ?? true))
        ? { duplicates }
        : { duplicates, unreplicated: true };
    }
    if (relaying) {
      this.relay.peers.forEach((peer, o) => {
        const dropped = Number(reply[appends.length * 3 + o] ?? 0);
        if (dropped > 0) this.onOutboxDropped(peer, dropped);
      });
      // A cluster has an outbox per slot: the relayer finds this one by the index (ClusterOutbox).
      // Before the 202; a dispatcher that dies first leaves it to the relayer's periodic scan.
      if (this.cluster) {
        await Promise.all(
          this.relay.peers.map((peer) => this.redis.zadd(outboxIndexKey(this.prefix, peer), 'NX', Date.now(), slot)),
        );
      }
    }
    const memberLists: string[][] = [];
    for (let i = 0; i < appends.length; i++) memberLists.push(reply[i * 3 + 2] as string[]);
    const [nodes, replicated] = await Promise.all([
      this.registry.resolveNodes(memberLists),
      this.confirmations?.written(slot, sentTo) ?? true,
    ]);
    return appends.map((_, i) => ({
      epoch: String(reply[i * 3]),
      base: Number(reply[i * 3 + 1]),
      nodes: nodes[i] ?? [],
      ...(replicated
        ? {}
        : { unreplicated: true, confirmLater: () => this.confirmations?.later(slot, sentTo) ?? Promise.resolve(true) }),
    }));
  }

  /**
   * How many outboxes share a peer's bounds: on a cluster, the slots holding entries (the index,
   * read at most once a second), so that all of them together stay within RELAY_QUEUE_MAX and
   * RELAY_OUTBOX_MAX_BYTES however many slots the published topics span; 1 on one server.
   */
  private async outboxShare(): Promise<number> {
    if (!this.cluster) return 1;
    if (Date.now() - this.shareAt > 1000) {
      this.shareAt = Date.now();
      const counts = await Promise.all(
        this.relay.peers.map((peer) => this.redis.zcard(outboxIndexKey(this.prefix, peer))),
      ).catch(() => [this.share]);
      this.share = Math.max(1, ...counts);
    }
    return this.share;
  }

  async read(topic: string, from: number | undefined, epochs?: readonly string[]): Promise<TopicRead> {
    return (await this.readMany([{ topic, from, epochs }]))[0] as TopicRead;
  }

  async viewerCounts(topics: readonly string[]): Promise<Map<string, number | undefined>> {
    // One HGET per topic (a cluster routes each to its slot's master); a shard that fails leaves
    // its topics out rather than failing the others.
    const counts = new Map<string, number | undefined>();
    const answers = await Promise.allSettled(topics.map((topic) => this.redis.hget(this.keys(topic).log, 'viewers')));
    answers.forEach((answer, i) => {
      if (answer.status === 'fulfilled') {
        counts.set(topics[i] as string, answer.value === null ? undefined : Number(answer.value));
      }
    });
    return counts;
  }

  async readMany(requests: readonly ReadRequest[]): Promise<TopicRead[]> {
    const results: TopicRead[] = new Array(requests.length);
    const chunks: Array<Promise<{ slot: number; sentTo: Redis | undefined }>> = [];
    const indexed = requests.map((request, index) => ({ request, index }));
    for (const { slot, items } of groupBySlot(indexed, ({ request }) => request.topic, this.cluster)) {
      for (let i = 0; i < items.length; i += READ_CHUNK) {
        const chunk = items.slice(i, i + READ_CHUNK);
        // The connection the read goes out on (the slot map at this moment): confirmations ask it.
        const sentTo = this.confirmations?.connectionOf(slot);
        chunks.push(
          this.readChunk(chunk.map(({ request }) => request)).then((reads) => {
            chunk.forEach(({ index }, k) => {
              results[index] = reads[k] as TopicRead;
            });
            return { slot, sentTo };
          }),
        );
      }
    }
    const read = await Promise.all(chunks);
    // What nodes read goes to viewers: only what the replicas have too, or a failover could take
    // back events they were shown (confirmations.ts).
    if (this.confirmations) {
      const held = await this.confirmations.slotsHeld(read);
      if (read.some(({ slot }) => !held.has(slot))) {
        throw new Error('what the topic log holds is not confirmed by a Redis replica in time');
      }
    }
    return results;
  }

  private async readChunk(requests: readonly ReadRequest[]): Promise<TopicRead[]> {
    const keys: string[] = [];
    const args: string[] = [String(this.limits.maxAgeMs + 60_000), String(READ_TOPIC_BYTES), String(READ_CALL_BYTES)];
    for (const { topic, from, epochs } of requests) {
      const k = this.keys(topic);
      keys.push(k.log, k.history);
      args.push(newEpoch(), from === undefined ? '' : String(from), String(epochs?.length ?? 0), ...(epochs ?? []));
    }
    const replies = await this.redis.ovationTopicRead(keys.length, ...keys, ...args);
    return replies.map(([epoch, pos, trimmed, likes, status, entries, viewers, cut, reactions]) => {
      const events: TopicRead['events'] = [];
      for (const [id, fields] of entries) {
        const body = fields[1];
        if (fields[0] === 'e' && body !== undefined) events.push({ pos: Number.parseInt(id, 10), body });
      }
      return {
        epoch,
        pos: Number(pos),
        trimmedThrough: Number(trimmed),
        likes: Number(likes),
        reactions: reactionTotals(
          Number(likes),
          Object.fromEntries(COUNTED_REACTIONS.map((name, i) => [name, Number(reactions[i] ?? 0) || 0])),
        ),
        status: status === '' ? undefined : status,
        viewers: viewers === '' ? undefined : Number(viewers),
        ...(cut === 1 ? { cut: true } : {}),
        events,
      };
    });
  }

  async restore(states: readonly RestoredState[]): Promise<void> {
    await Promise.all(
      groupBySlot(states, (state) => state.topic, this.cluster).map(({ items }) => this.restoreSlot(items)),
    );
  }

  private async restoreSlot(states: readonly RestoredState[]): Promise<void> {
    const keys: string[] = [];
    const args: string[] = [String(this.limits.stateTtlMs), String(RELAY_DEDUPE_TTL_MS)];
    for (const { topic, likes, reactions, status, viewers, relayed } of states) {
      const k = this.keys(topic);
      keys.push(k.log, k.history);
      args.push(
        newEpoch(),
        String(likes),
        reactionText(reactionTotals(likes, reactions ?? {})),
        status ?? '',
        viewers === undefined ? '' : String(viewers),
      );
      const ranges = Object.entries(relayed ?? {}).flatMap(([log, through]) => dedupeRange(log, through));
      args.push(String(ranges.length));
      for (const { key, from, to } of ranges) args.push(this.dedupeKey(topic, key), String(from), String(to));
    }
    await this.redis.eval(RESTORE, keys.length, ...keys, ...args);
  }

  sweep(): void {}
}
