// One-time move of the web store's keys from the single-server layout to the cluster layout (commit
// 1685906; the layout is at the top of lib/server/store/redis-store.ts). Under prefix <p>:
//
//   <p>:video:<id>                       → <p>:{v:<id>}
//   <p>:video:<id>:<rest>                → <p>:{v:<id>}:<rest>   comments, bans, activity:<minute>,
//                                          deleted:<comment>, ban-addr:<address>, ban-addrs:<user>
//   <p>:videos, <p>:videos:live|ended    → <p>:{videos}, <p>:{videos}:live|ended
//   <p>:indexed                          → <p>:{videos}:indexed
//   <p>:owner:<user>:videos|upcoming     → <p>:{u:<user>}:videos|upcoming
//   <p>:user:<user>:addrs                → <p>:{u:<user>}:addrs
//   <p>:once:<scope>                     → <p>:{v:<video>}:once:<scope>, the video read from the record
//   <p>:published:…, <p>:revoked:…, <p>:rl:…   the same name in both layouts: not touched
//
// No value changes shape: the sets and lists hold ids and JSON, never key names. Only a once
// record's new name depends on its value: a create's is kept beside keyedVideoId(scope) (where
// the new code looks for the record of a keyed create: its result still names the old video), a
// comment's beside the comment's videoId. A like's record ({total, count}) names no video: it is
// left where it is and expires within IDEMPOTENCY_TTL_MS (10 min); a like repeated with the same
// Idempotency-Key across the upgrade counts again.
//
// Each key moves with RENAMENX: atomic, value and TTL kept, never over an existing key. When the
// new name exists and holds the same bytes (DUMP) — the `indexed` marker a new process sets on its
// first page — the old copy is dropped ("already there"); otherwise both are left and reported
// (a conflict, exit status 1). Keys with a brace (the new layout, the dispatcher's {regions}) and
// the dispatcher's families are never looked at. A second run finds nothing left to move.
//
// Usage, from apps/web (the old layout only ever lived on one server, so REDIS_URL only):
//   REDIS_URL=redis://… [REDIS_PREFIX=ovation-web] node scripts/migrate-redis.mjs [--dry-run]
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

/** The web's own default (lib/server/config.ts), and the same rule for the prefix. */
export const DEFAULT_PREFIX = 'ovation-web';
const PREFIX_PATTERN = /^[A-Za-z0-9:_-]{1,64}$/;
const EXAMPLES = 20;

/** The dispatcher's key families (it may share the prefix): never the web store's. */
const DISPATCHER = ['topic:', 'node', 'urls', 'duty', 'latency', 'relay', 'store', 'idem'];
/** The web's keys whose name is the same in both layouts. */
const UNCHANGED = ['published:', 'revoked:', 'rl:'];
const VIDEO_PARTS = /^(comments|bans|activity:\d+|deleted:.+|ban-addr:.+|ban-addrs:.+)$/;

/**
 * Moves every old-layout key under `prefix` to its new name; see the top of this file.
 * Memory stays bounded: one SCAN page at a time, and at most EXAMPLES key names per report.
 */
export async function migrateRedis(redis, options = {}) {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`REDIS_PREFIX ${JSON.stringify(prefix)}: want ${PREFIX_PATTERN}`);
  const dryRun = options.dryRun ?? false;
  const summary = {
    dryRun,
    moved: 0,
    alreadyThere: 0,
    conflicts: 0,
    unplaced: 0,
    unchanged: 0,
    unknown: 0,
    examples: { conflicts: [], unplaced: [], unknown: [] },
  };
  const note = (kind, key) => {
    summary[kind]++;
    if (summary.examples[kind] && summary.examples[kind].length < EXAMPLES) summary.examples[kind].push(key);
  };

  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', options.count ?? 1000);
    cursor = next;
    const moves = [];
    const onces = [];
    for (const key of keys) {
      const rest = key.slice(prefix.length + 1);
      if (rest.includes('{') || DISPATCHER.some((family) => rest.startsWith(family))) continue;
      if (UNCHANGED.some((family) => rest.startsWith(family))) {
        summary.unchanged++;
        continue;
      }
      if (rest.startsWith('once:')) {
        onces.push({ from: key, scope: rest.slice('once:'.length) });
        continue;
      }
      const to = newName(prefix, rest);
      if (to === undefined) note('unknown', key);
      else moves.push({ from: key, to });
    }
    for (const once of await placeOnces(redis, prefix, onces)) {
      if (once.to) moves.push(once);
      else if (once.to === null) note('unplaced', once.from);
    }
    for (const [kind, key] of await move(redis, moves, dryRun)) note(kind, key);
  } while (cursor !== '0');
  return summary;
}

/** The new name of an old key (after `<p>:`), undefined when it is of no known shape. */
function newName(prefix, rest) {
  const p = prefix;
  if (rest === 'videos') return `${p}:{videos}`;
  if (rest === 'videos:live' || rest === 'videos:ended') return `${p}:{videos}:${rest.slice('videos:'.length)}`;
  if (rest === 'indexed') return `${p}:{videos}:indexed`;
  let m = /^video:([^:]+)(?::(.+))?$/.exec(rest);
  if (m) {
    if (m[2] === undefined) return `${p}:{v:${m[1]}}`;
    return VIDEO_PARTS.test(m[2]) ? `${p}:{v:${m[1]}}:${m[2]}` : undefined;
  }
  m = /^owner:(.+):(videos|upcoming)$/.exec(rest);
  if (m) return `${p}:{u:${m[1]}}:${m[2]}`;
  m = /^user:(.+):addrs$/.exec(rest);
  if (m) return `${p}:{u:${m[1]}}:addrs`;
  return undefined;
}

/**
 * Where each once record goes: `to` a name, null when its result names no video (a like's), or
 * undefined when the key is gone (expired, or moved already: SCAN may return a key twice).
 */
async function placeOnces(redis, prefix, onces) {
  if (onces.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const { from } of onces) pipeline.exists(from).hget(from, 'r');
  const replies = await pipeline.exec();
  return onces.map(({ from, scope }, i) => {
    const [existsError, exists] = replies[2 * i];
    const [resultError, result] = replies[2 * i + 1];
    if (existsError || resultError) throw existsError ?? resultError;
    if (exists === 0) return { from, to: undefined };
    const videoId = onceVideo(scope, result);
    return { from, to: videoId === undefined ? null : `${prefix}:{v:${videoId}}:once:${scope}` };
  });
}

/** A comment's record names its video; a create's ({id}) is kept where its repeat looks. */
function onceVideo(scope, result) {
  let value;
  try {
    value = JSON.parse(result ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (typeof value.videoId === 'string') return value.videoId;
  if (typeof value.id === 'string' && Object.keys(value).length === 1) return keyedVideoId(scope);
  return undefined;
}

/** lib/server/store/store.ts keyedVideoId, spelled as randomTag spells bytes. */
function keyedVideoId(scope) {
  let out = '';
  for (const byte of createHash('sha256').update(`video ${scope}`).digest().subarray(0, 8)) {
    out += byte.toString(36).padStart(2, '0');
  }
  return out;
}

/** RENAMENX each (EXISTS in a dry run); then a DUMP of both names where the new one was taken. */
async function move(redis, moves, dryRun) {
  if (moves.length === 0) return [];
  const first = redis.pipeline();
  for (const { from, to } of moves) {
    if (dryRun) first.exists(from).exists(to);
    else first.renamenx(from, to);
  }
  const replies = await first.exec();
  const out = [];
  const taken = [];
  moves.forEach((m, i) => {
    if (dryRun) {
      const [[e1, fromExists], [e2, toExists]] = [replies[2 * i], replies[2 * i + 1]];
      if (e1 || e2) throw e1 ?? e2;
      if (fromExists === 0) return;
      if (toExists === 0) out.push(['moved', m.from]);
      else taken.push(m);
      return;
    }
    const [error, renamed] = replies[i];
    if (error) {
      if (/no such key/i.test(error.message)) return; // gone meanwhile, or seen twice by SCAN
      throw error;
    }
    if (renamed === 1) out.push(['moved', m.from]);
    else taken.push(m);
  });
  if (taken.length === 0) return out;
  const dumps = redis.pipeline();
  for (const { from, to } of taken) dumps.dumpBuffer(from).dumpBuffer(to);
  const values = await dumps.exec();
  const drop = [];
  taken.forEach((m, i) => {
    const [[e1, old], [e2, current]] = [values[2 * i], values[2 * i + 1]];
    if (e1 || e2) throw e1 ?? e2;
    if (old === null) return;
    if (current !== null && Buffer.compare(old, current) === 0) {
      out.push(['alreadyThere', m.from]);
      drop.push(m.from);
    } else out.push(['conflicts', `${m.from} -> ${m.to}`]);
  });
  if (!dryRun && drop.length > 0) await redis.unlink(...drop);
  return out;
}

/** The operator's report. */
export function formatSummary(summary, prefix) {
  const lines = [
    `migrate-redis: prefix ${prefix}${summary.dryRun ? ' (dry run: nothing changed; "moved" = would move)' : ''}`,
    `  moved          ${summary.moved}`,
    `  already there  ${summary.alreadyThere}  (the new name held the same value: the old copy ${summary.dryRun ? 'would be ' : ''}removed)`,
    `  conflicts      ${summary.conflicts}  (the new name holds another value: both left, decide by hand)`,
    `  once records   ${summary.unplaced}  left alone (a like's: no video to keep it beside; expires within 10 min)`,
    `  unchanged      ${summary.unchanged}  (published, revoked, rate limits: the same name in both layouts)`,
    `  unknown        ${summary.unknown}  left alone`,
  ];
  const headings = {
    conflicts: 'conflicts (old -> new)',
    unplaced: 'once records left alone',
    unknown: 'unknown keys',
  };
  for (const [kind, keys] of Object.entries(summary.examples)) {
    if (keys.length === 0) continue;
    lines.push(`${headings[kind]}${summary[kind] > keys.length ? ` (first ${keys.length} of ${summary[kind]})` : ''}:`);
    for (const key of keys) lines.push(`  ${key}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  if (args.some((arg) => arg !== '--dry-run')) {
    process.stderr.write('usage: REDIS_URL=redis://… [REDIS_PREFIX=…] node scripts/migrate-redis.mjs [--dry-run]\n');
    process.exit(2);
  }
  const url = process.env.REDIS_URL;
  if (!url) {
    process.stderr.write('REDIS_URL is required: the server the single-server layout lives on (not a cluster)\n');
    process.exit(2);
  }
  const prefix = process.env.REDIS_PREFIX || DEFAULT_PREFIX;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const summary = await migrateRedis(redis, { prefix, dryRun });
    process.stdout.write(formatSummary(summary, prefix));
    process.exitCode = summary.conflicts > 0 ? 1 : 0;
  } finally {
    redis.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`migrate-redis: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  });
}
