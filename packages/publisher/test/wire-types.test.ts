import {
  CommentSchema,
  DEFAULT_BODY_LIMIT_BYTES,
  EVENT_TYPE_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  LikePayloadSchema,
  MAX_EVENT_DATA_BYTES,
  MAX_PUBLISH_BATCH,
  PublishEventSchema,
  RESERVED_EVENT_TYPES,
  type TComment,
  type TLikePayload,
  TOPIC_PATTERN,
  type TPublishEvent,
  type TVideoStatus,
} from '@ovation/shared';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CommentData, LikeData, PublishEvent, VideoStatus } from '../src/index.js';
import * as publisher from '../src/index.js';

/*
 * The publisher declares the wire's types and limits itself (a published package cannot depend on
 * the private @ovation/shared); these checks keep them equal to the server's. The type checks run
 * in the typecheck (tsc), the rest here.
 */

describe('the publisher agrees with the server', () => {
  it('on the limits', () => {
    expect(publisher.TOPIC_PATTERN.source).toBe(TOPIC_PATTERN.source);
    expect(publisher.EVENT_TYPE_PATTERN.source).toBe(EVENT_TYPE_PATTERN.source);
    expect(publisher.IDEMPOTENCY_KEY_PATTERN.source).toBe(IDEMPOTENCY_KEY_PATTERN.source);
    expect([...publisher.RESERVED_EVENT_TYPES].sort()).toEqual([...RESERVED_EVENT_TYPES].sort());
    expect(publisher.MAX_EVENT_DATA_BYTES).toBe(MAX_EVENT_DATA_BYTES);
    expect(publisher.MAX_PUBLISH_BATCH).toBe(MAX_PUBLISH_BATCH);
    expect(publisher.MAX_PUBLISH_BODY_BYTES).toBe(DEFAULT_BODY_LIMIT_BYTES);
  });

  it('on the event types', () => {
    expectTypeOf<LikeData>().toEqualTypeOf<TLikePayload>();
    expectTypeOf<CommentData>().toEqualTypeOf<TComment>();
    expectTypeOf<VideoStatus>().toEqualTypeOf<Exclude<TVideoStatus, 'upcoming'>>();
    expectTypeOf<TPublishEvent>().toExtend<PublishEvent>();
    expectTypeOf<PublishEvent>().toExtend<TPublishEvent>();
  });

  it('on what the builders make: the server schemas take it', () => {
    const comment = publisher.events.comment(
      { id: 'c1', videoId: 'v1', author: { id: 'u1', name: 'Ann' }, text: 'hi', at: new Date().toISOString() },
      { key: 'k1' },
    );
    const built = [
      comment,
      publisher.events.like('v1', { count: 3, total: 10, sample: [{ id: 'u1', name: 'Ann' }] }),
      publisher.events.commentDeleted({ id: 'c1', videoId: 'v1' }),
      publisher.events.status('v1', 'ended', { topic: 'videos' }),
      publisher.events.custom('video:v1', 'poll', { question: '?' }),
    ];
    for (const event of built) expect(PublishEventSchema.safeParse(event).success, JSON.stringify(event)).toBe(true);
    expect(CommentSchema.parse(comment.data)).toEqual(comment.data);
    expect(LikePayloadSchema.parse(built[1]?.data)).toEqual(built[1]?.data);
    expect(built.map((e) => e.topic)).toEqual(['video:v1', 'video:v1', 'video:v1', 'videos', 'video:v1']);
    // @ts-expect-error: a type the server reserves does not compile
    publisher.events.custom('video:v1', 'reconnect', {});
  });
});
