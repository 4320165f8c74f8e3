import type { TNodeTopicPresence, TPresenceList, TPresenceMember } from '@ovation/shared';
import { isCluster, type RedisClient, slotOf } from '@ovation/shared/redis';
import { z } from 'zod';
import { tag } from '../registry/redis/commands.js';
import type { ReplicaConfirmations } from '../topic-log/confirmations.js';
import type { PresenceChange, PresenceSettings, PresenceStore } from './presence-store.js';

/*
 * Redis layout (under `prefix`). A topic's keys share its hash tag, so each step on a topic is one
 * script on one slot of a cluster; the two global keys share theirs:
 *   <p>:presence:{<t>}:exp     ZSET   member (account or guest) -> heartbeat expiry, ms (Redis's clock)
 *   <p>:presence:{<t>}:acc     HASH   account -> "<since ms>|<name>"
 *   <p>:presence:{<t>}:ids     ZSET   accounts, all scored 0: the paged list, in id order (BYLEX)
 *   <p>:presence:{<t>}:joins   LIST   "<id>|<name>" of the first joins since the last settle
 *   <p>:presence:{<t>}:meta    HASH   joins (accounts joined since the last settle), dirty (a guest
 *                                     joined), out (the settled change not yet published, JSON),
 *                                     seq (its key), count and guests (what the last published
 *                                     change said)
 *   <p>:presence:{global}:due     ZSET  topic -> when it is next due for a settle
 *   <p>:presence:{global}:online  ZSET  account -> its latest heartbeat expiry on any topic
 *
 * A topic's due time is in the global key, apart from the topic's own: a settle writes it after
 * its script, and a report that came in between would be overwritten — so the settle reads the
 * topic's due time once more afterwards and lowers the global one to it (`reschedule`).
 */

/** The milliseconds of Redis's clock, in a script (every dispatcher's heartbeats on one clock). */
const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/** When a topic is next due (-1: never), in a script, from its keys (see DUE_OF). */
const DUE_AT = `local function dueAt(now, grace)
  local meta = redis.call('HMGET', KEYS[5], 'out', 'joins', 'dirty')
  if meta[1] or meta[2] or meta[3] then
    return now
  end
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(now, tonumber(first[2]) + grace)
end`;

/** Members per ZMSCORE/ZADD inside a script: Lua's unpack has a stack limit (8000 values). */
const CHUNK = 2000;

// One node's heartbeats on one topic. KEYS: exp, acc, ids, joins, meta. ARGV: ttl ms, most names
// kept per settle, the keys' lifetime ms, how many present (n), then n id/name pairs (name '' for
// a guest), then gone ids. Returns { now, 1 if someone joined, 1 if someone's expiry was lowered }.
const REPORT = `${NOW}
local ttl, maxNames, keyTtl, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
table.remove(ARGV, 3)
local expiry = now + ttl
local joined, departed = 0, 0
for start = 0, n - 1, ${CHUNK} do
  local last = math.min(n - 1, start + ${CHUNK} - 1)
  local ids, pairs = {}, {}
  for i = start, last do
    ids[#ids + 1] = ARGV[4 + 2 * i]
    pairs[#pairs + 1] = expiry
    pairs[#pairs + 1] = ARGV[4 + 2 * i]
  end
  local known = redis.call('ZMSCORE', KEYS[1], unpack(ids))
  redis.call('ZADD', KEYS[1], 'GT', unpack(pairs))
  for k = 1, #ids do
    if not known[k] then
      joined = 1
      local id, name = ids[k], ARGV[5 + 2 * (start + k - 1)]
      if name ~= '' then
        redis.call('HSET', KEYS[2], id, now .. '|' .. name)
        redis.call('ZADD', KEYS[3], 0, id)
        if redis.call('HINCRBY', KEYS[5], 'joins', 1) <= maxNames then redis.call('RPUSH', KEYS[4], id .. '|' .. name) end
      else
        redis.call('HSET', KEYS[5], 'dirty', '1')
      end
    end
  end
end
for i = 4 + 2 * n, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'LT', 'CH', now, ARGV[i]) == 1 then departed = 1 end
end
-- A topic nobody reports about any more (its settles lost track of it) does not stay for ever.
for k = 1, 5 do redis.call('PEXPIRE', KEYS[k], keyTtl) end
return { now, joined, departed }`;

// The delayed check. KEYS: exp, acc, ids, joins, meta. ARGV: seq, grace ms, most names, most
// leaving. Returns { 'out', change JSON } for a change to publish (one already settled: as it
// was), or { 'none' }.
const SETTLE = `${NOW}
local out = redis.call('HGET', KEYS[5], 'out')
if out then return { 'out', out } end
local grace, maxNames = tonumber(ARGV[2]), tonumber(ARGV[3])
local expired = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. (now - grace), 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[4]))
local left, leftCount = {}, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local account = redis.call('HGET', KEYS[2], id)
  if account then
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    leftCount = leftCount + 1
    if #left < maxNames then left[#left + 1] = id .. '|' .. string.sub(account, string.find(account, '|', 1, true) + 1) end
  end
end
local joins = redis.call('LRANGE', KEYS[4], 0, -1)
local joinCount = tonumber(redis.call('HGET', KEYS[5], 'joins') or '0')
redis.call('DEL', KEYS[4])
redis.call('HDEL', KEYS[5], 'joins', 'dirty')
local count = redis.call('HLEN', KEYS[2])
local guests = redis.call('ZCARD', KEYS[1]) - count
local shown = redis.call('HMGET', KEYS[5], 'count', 'guests')
if joinCount == 0 and leftCount == 0 and count == tonumber(shown[1] or '0') and guests == tonumber(shown[2] or '0') then
  return { 'none' }
end
out = cjson.encode({ seq = ARGV[1], joined = joins, left = left, joinCount = joinCount, leftCount = leftCount,
  count = count, guests = guests })
redis.call('HSET', KEYS[5], 'out', out, 'seq', ARGV[1])
return { 'out', out }`;

// The change ARGV[1] is published: its counts are what the viewers were shown. KEYS: exp, acc,
// ids, joins, meta. ARGV: seq.
const PUBLISHED = `
if redis.call('HGET', KEYS[5], 'seq') ~= ARGV[1] then return 0 end
local out = cjson.decode(redis.call('HGET', KEYS[5], 'out'))
redis.call('HDEL', KEYS[5], 'out', 'seq')
local pending = redis.call('HMGET', KEYS[5], 'joins', 'dirty')
if redis.call('EXISTS', KEYS[1]) == 0 and not pending[1] and not pending[2] then
  redis.call('DEL', KEYS[5])
else
  redis.call('HSET', KEYS[5], 'count', out.count, 'guests', out.guests)
end
return 1`;

// When the topic is next due, -1 never. KEYS: exp, acc, ids, joins, meta. ARGV: grace ms.
const DUE_OF = `${NOW}
${DUE_AT}
return dueAt(now, tonumber(ARGV[1]))`;

// Topics due by now; forgets accounts whose last heartbeat expired past the grace. KEYS: due,
// online. ARGV: most topics, grace ms.
const DUE_TOPICS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[2])))
return redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))`;

// KEYS: online. ARGV: grace ms, then ids. Returns 1 or 0 per id.
const ONLINE = `${NOW}
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, 2))
local out = {}
for i = 1, #scores do out[i] = (scores[i] and tonumber(scores[i]) + tonumber(ARGV[1]) >= now) and 1 or 0 end
return out`;

// One page. KEYS: exp, acc, ids. ARGV: cursor ('' for the first page), limit. Returns count,
// guests, 1 if there is a next page, then id/value pairs.
const LIST = `
local from = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local limit = tonumber(ARGV[2])
local ids = redis.call('ZRANGE', KEYS[3], from, '+', 'BYLEX', 'LIMIT', 0, limit + 1)
local more = #ids > limit and 1 or 0
if more == 1 then table.remove(ids) end
local count = redis.call('HLEN', KEYS[2])
local out = { count, redis.call('ZCARD', KEYS[1]) - count, more }
if #ids > 0 then
  local values = redis.call('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do
    out[#out + 1] = ids[i]
    out[#out + 1] = values[i] or ''
  end
end
return out`;

/** A settled change as the script encodes it (cjson writes an empty list as `{}`). */
const StoredChangeSchema = z.object({
  seq: z.string(),
  joined: z.union([z.array(z.string()), z.object({}).transform(() => [])]),
  left: z.union([z.array(z.string()), z.object({}).transform(() => [])]),
  joinCount: z.number().int().nonnegative(),
  leftCount: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
  guests: z.number().int().nonnegative(),
});

/** How long a topic's keys outlive its last report, at least: a safety net, see REPORT. */
const MIN_KEY_TTL_MS = 10 * 60_000;

export class RedisPresence implements PresenceStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly settings: PresenceSettings,
    /**
     * Replicas that must have a settled change before it is published (REDIS_WAIT_REPLICAS, as the
     * topic log's accepts): a failover that lost it would settle it again under another key, and
     * the viewers would see the same join or leave twice.
     */
    private readonly confirmations?: ReplicaConfirmations,
  ) {}

  private topicKeys(topic: string): [string, string, string, string, string] {
    const base = `${this.prefix}:presence:${tag(topic)}`;
    return [`${base}:exp`, `${base}:acc`, `${base}:ids`, `${base}:joins`, `${base}:meta`];
  }

  private get dueKey(): string {
    return `${this.prefix}:presence:${tag('global')}:due`;
  }

  private get onlineKey(): string {
    return `${this.prefix}:presence:${tag('global')}:online`;
  }

  async report(topics: Readonly<Record<string, TNodeTopicPresence>>): Promise<void> {
    const { ttlMs, graceMs, maxNames } = this.settings;
    const accounts = new Set<string>();
    let latest = 0;
    await Promise.all(
      Object.entries(topics).map(async ([topic, { present, gone }]) => {
        if (present.length === 0 && gone.length === 0) return;
        const keyTtl = Math.max(MIN_KEY_TTL_MS, 20 * (ttlMs + graceMs));
        const args = [String(ttlMs), String(maxNames), String(keyTtl), String(present.length)];
        for (const { id, name } of present) {
          args.push(id, name ?? '');
          if (name !== undefined) accounts.add(id);
        }
        args.push(...gone);
        const [now, joined, departed] = (await this.redis.eval(
          REPORT,
          5,
          ...this.topicKeys(topic),
          ...args,
        )) as number[];
        latest = Math.max(latest, now ?? 0);
        if (joined) await this.redis.zadd(this.dueKey, 'LT', now ?? 0, topic);
        else if (departed) await this.redis.zadd(this.dueKey, 'LT', (now ?? 0) + graceMs, topic);
        // A heartbeat keeps its topic in the due set (an entry lost in a failover is made again).
        else await this.redis.zadd(this.dueKey, 'NX', (now ?? 0) + ttlMs + graceMs, topic);
      }),
    );
    if (accounts.size === 0) return;
    const expiry = latest + ttlMs;
    const ids = [...accounts];
    for (let i = 0; i < ids.length; i += CHUNK) {
      await this.redis.zadd(this.onlineKey, 'GT', ...ids.slice(i, i + CHUNK).flatMap((id) => [expiry, id]));
    }
  }

  async dueTopics(max: number): Promise<string[]> {
    return (await this.redis.eval(
      DUE_TOPICS,
      2,
      this.dueKey,
      this.onlineKey,
      String(max),
      String(this.settings.graceMs),
    )) as string[];
  }

  async settle(topic: string, seq: string): Promise<PresenceChange | undefined> {
    const { graceMs, maxNames, maxLeavePerSettle } = this.settings;
    const keys = this.topicKeys(topic);
    const slot = isCluster(this.redis) ? slotOf(keys[0]) : -1;
    const sentTo = this.confirmations?.connectionOf(slot);
    const [kind, json] = (await this.redis.eval(
      SETTLE,
      5,
      ...keys,
      seq,
      String(graceMs),
      String(maxNames),
      String(maxLeavePerSettle),
    )) as [string, string | undefined];
    if (kind !== 'out' || json === undefined) {
      await this.reschedule(topic);
      return undefined;
    }
    // Due until published (DUE_AT): a failed publish is tried again next round, with the same change.
    await this.redis.zadd(this.dueKey, 'LT', 0, topic);
    if (this.confirmations && !(await this.confirmations.soFar(slot, sentTo))) {
      throw new Error(`the presence change of ${topic} is not on a replica yet`);
    }
    const stored = StoredChangeSchema.parse(JSON.parse(json));
    const joined = stored.joined.map(member);
    const left = stored.left.map(member);
    return {
      seq: stored.seq,
      joined,
      left,
      more: { joined: Math.max(0, stored.joinCount - joined.length), left: stored.leftCount - left.length },
      count: stored.count,
      guests: stored.guests,
    };
  }

  async published(topic: string, seq: string): Promise<void> {
    await this.redis.eval(PUBLISHED, 5, ...this.topicKeys(topic), seq);
    await this.reschedule(topic);
  }

  /** Sets the topic's due time from its keys, then lowers it to what they say once more (see the layout). */
  private async reschedule(topic: string): Promise<void> {
    const keys = this.topicKeys(topic);
    const graceMs = String(this.settings.graceMs);
    const at = Number(await this.redis.eval(DUE_OF, 5, ...keys, graceMs));
    if (at < 0) await this.redis.zrem(this.dueKey, topic);
    else await this.redis.zadd(this.dueKey, at, topic);
    const again = Number(await this.redis.eval(DUE_OF, 5, ...keys, graceMs));
    if (again >= 0) await this.redis.zadd(this.dueKey, 'LT', again, topic);
  }

  async list(topic: string, cursor: string | undefined, limit: number): Promise<TPresenceList> {
    const [exp, acc, ids] = this.topicKeys(topic);
    const reply = (await this.redis.eval(LIST, 3, exp, acc, ids, cursor ?? '', String(limit))) as (string | number)[];
    const [count = 0, guests = 0, more = 0] = reply as number[];
    const viewers = [];
    for (let i = 3; i + 1 < reply.length; i += 2) {
      const id = String(reply[i]);
      const value = String(reply[i + 1]);
      const bar = value.indexOf('|');
      if (bar < 0) continue;
      viewers.push({ id, name: value.slice(bar + 1), since: new Date(Number(value.slice(0, bar))).toISOString() });
    }
    const last = viewers.at(-1);
    return { count, guests, viewers, next: more === 1 && last ? last.id : null };
  }

  async online(ids: readonly string[], topic?: string): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    if (ids.length === 0) return out;
    if (topic !== undefined) {
      // On the topic: listed (not yet left), as the paged list says.
      const [, acc] = this.topicKeys(topic);
      const values = await this.redis.hmget(acc, ...ids);
      ids.forEach((id, i) => {
        out[id] = values[i] !== null && values[i] !== undefined;
      });
      return out;
    }
    const flags = (await this.redis.eval(ONLINE, 1, this.onlineKey, String(this.settings.graceMs), ...ids)) as number[];
    ids.forEach((id, i) => {
      out[id] = flags[i] === 1;
    });
    return out;
  }
}

/** "<id>|<name>" (ids never hold a bar). */
function member(entry: string): TPresenceMember {
  const bar = entry.indexOf('|');
  return { id: entry.slice(0, bar), name: entry.slice(bar + 1) };
}
