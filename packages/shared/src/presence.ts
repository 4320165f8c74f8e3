import { z } from 'zod';
import { TopicSchema } from './schemas.js';

/*
 * Presence: who is watching a video, without flicker (SEED.md, "Presence").
 *
 *   node: a member's first connection on a topic ─┐  every PRESENCE_FLUSH_MS
 *         its last one closed                    ├─▶ POST /internal/nodes/presence { topic: { present, gone } }
 *         every member again, every TTL/3        ─┘       │
 *                                                          ▼
 *   store (memory / Redis / Cluster), per topic: member → heartbeat expiry; `gone` sets it to now
 *                                                          │
 *   dispatcher holding the `presence` duty, per interval:  ▼
 *     members whose expiry is PRESENCE_GRACE_MS behind → left; new members → joined
 *     ──▶ one `presence` event per topic that changed { joined, left, count, guests }
 *
 * A viewer who drops and comes back within the grace (on any node) refreshes their expiry before
 * the delayed check looks: never left. A node killed with SIGKILL stops refreshing: its members'
 * heartbeats expire within PRESENCE_TTL_MS, and they leave PRESENCE_GRACE_MS later.
 */

/** PRESENCE_GRACE_MS default: how long a member whose heartbeat expired stays before leaving. */
export const DEFAULT_PRESENCE_GRACE_MS = 10_000;
/** PRESENCE_TTL_MS default: a heartbeat's validity; nodes refresh every third of it. */
export const DEFAULT_PRESENCE_TTL_MS = 15_000;
/** Names in one `presence` event's `joined` (and in its `left`): beyond, only counted. */
export const MAX_PRESENCE_NAMES = 20;
/** Members in one node → dispatcher presence message (present and gone, over all its topics). */
export const MAX_PRESENCE_MEMBERS_PER_MESSAGE = 5000;
/** Viewers in one page of `GET /topics/:topic/presence` (`limit`, default 100). */
export const MAX_PRESENCE_PAGE = 1000;
/** Users in one `GET /api/presence?users=` (and the dispatcher's online look-up). */
export const MAX_PRESENCE_USERS = 100;

/** A member's id: an account's id, or a guest's (a viewer id without a name: counted, never listed). */
export const PresenceIdSchema = z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/);
/** The name a member is shown by (their account's, bounded as account names are). */
export const PresenceNameSchema = z.string().min(1).max(100);

export const PresenceMemberSchema = z.object({ id: PresenceIdSchema, name: PresenceNameSchema });
export type TPresenceMember = z.infer<typeof PresenceMemberSchema>;

/**
 * The `presence` event: who joined and left a topic since the previous one (signed-in members, at
 * most MAX_PRESENCE_NAMES each; `more` counts the rest), `count` members present (accounts) and
 * `guests` (viewers without an account, counted, never named).
 */
export const PresencePayloadSchema = z.object({
  joined: z.array(PresenceMemberSchema).max(MAX_PRESENCE_NAMES),
  left: z.array(PresenceMemberSchema).max(MAX_PRESENCE_NAMES),
  count: z.number().int().nonnegative(),
  guests: z.number().int().nonnegative(),
  /** Joins and leaves beyond the names listed (absent: none). */
  more: z.object({ joined: z.number().int().nonnegative(), left: z.number().int().nonnegative() }).optional(),
});
export type TPresencePayload = z.infer<typeof PresencePayloadSchema>;

/** One member in the paged list: since when they are here (ISO 8601). */
export const PresenceViewerSchema = PresenceMemberSchema.extend({ since: z.string() });
export type TPresenceViewer = z.infer<typeof PresenceViewerSchema>;

/** `GET /topics/:topic/presence?cursor=&limit=`: one page, in id order; `next` is the cursor of the next. */
export const PresenceListSchema = z.object({
  count: z.number().int().nonnegative(),
  guests: z.number().int().nonnegative(),
  viewers: z.array(PresenceViewerSchema),
  next: z.string().nullable(),
});
export type TPresenceList = z.infer<typeof PresenceListSchema>;

export const PresenceListQuerySchema = z.object({
  /** The last id of the previous page. */
  cursor: PresenceIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PRESENCE_PAGE).default(100),
});

/** Ids as a comma list (`?users=a,b`), at most MAX_PRESENCE_USERS, each a valid id. */
export const PresenceUsersQuerySchema = z.object({
  users: z
    .string()
    .max(MAX_PRESENCE_USERS * 65)
    .transform((list) => [...new Set(list.split(',').filter((id) => id !== ''))])
    .pipe(z.array(PresenceIdSchema).min(1).max(MAX_PRESENCE_USERS)),
  /** Present on this topic (not yet left it); absent: present on any. */
  topic: TopicSchema.optional(),
});

/** `GET /api/presence?users=` (web) and the dispatcher's `GET /presence/online?users=&topic=`. */
export const PresenceOnlineSchema = z.object({ online: z.record(z.string(), z.boolean()) });
export type TPresenceOnline = z.infer<typeof PresenceOnlineSchema>;

/**
 * What a node tells the dispatcher tier about a topic: members with a connection here (their
 * heartbeat: `name` for accounts, none for guests) and members whose last connection here closed.
 */
export const NodeTopicPresenceSchema = z.object({
  present: z
    .array(z.object({ id: PresenceIdSchema, name: PresenceNameSchema.optional() }))
    .max(MAX_PRESENCE_MEMBERS_PER_MESSAGE)
    .default([]),
  gone: z.array(PresenceIdSchema).max(MAX_PRESENCE_MEMBERS_PER_MESSAGE).default([]),
});
export type TNodeTopicPresence = z.infer<typeof NodeTopicPresenceSchema>;

export const NodePresenceSchema = z
  .object({
    nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    topics: z.record(TopicSchema, NodeTopicPresenceSchema),
  })
  .refine(
    (message) =>
      Object.values(message.topics).reduce((sum, t) => sum + t.present.length + t.gone.length, 0) <=
      MAX_PRESENCE_MEMBERS_PER_MESSAGE,
    { message: `must name at most ${MAX_PRESENCE_MEMBERS_PER_MESSAGE} members in all` },
  );
export type TNodePresence = z.infer<typeof NodePresenceSchema>;

/** Members in one region → region presence message (a peer forwards its nodes' reports in parts). */
export const MAX_REGION_PRESENCE_MEMBERS = 20_000;

/**
 * POST /internal/region-presence: the node reports another region's dispatchers took, in the order
 * they took them, so that every region's store holds every region's viewers (presence is global).
 */
export const RegionPresenceSchema = z
  .object({
    region: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    reports: z.array(z.record(TopicSchema, NodeTopicPresenceSchema)).min(1).max(1000),
  })
  .refine(
    (message) =>
      message.reports.reduce(
        (sum, topics) => sum + Object.values(topics).reduce((n, t) => n + t.present.length + t.gone.length, 0),
        0,
      ) <= MAX_REGION_PRESENCE_MEMBERS,
    { message: `must name at most ${MAX_REGION_PRESENCE_MEMBERS} members in all` },
  );
export type TRegionPresence = z.infer<typeof RegionPresenceSchema>;

/** The dispatcher's answer to a node's presence message: send every member again every `refreshMs`. */
export const PresenceAckSchema = z.object({ ok: z.literal(true), refreshMs: z.number().int().positive() });
export type TPresenceAck = z.infer<typeof PresenceAckSchema>;
