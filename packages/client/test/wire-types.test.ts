import {
  CommentSchema,
  ConnectedPayloadSchema,
  type ConnectTokenValue,
  EventEnvelopeSchema,
  LikePayloadSchema,
  RealtimeTokenResponseSchema,
  ReconnectPayloadSchema,
  ResyncPayloadSchema,
  SnapshotPayloadSchema,
  type TComment,
  type TConnectedPayload,
  type TEventEnvelope,
  type TLikePayload,
  type TPresencePayload,
  type TRealtimeTokenResponse,
  type TReconnectPayload,
  type TResyncPayload,
  type TSnapshotPayload,
  type TUser,
  type TVideo,
  type TViewersPayload,
  ViewersPayloadSchema,
} from '@ovation/shared';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  Comment,
  ConnectedPayload,
  ConnectToken,
  EventEnvelope,
  LikePayload,
  PresencePayload,
  RealtimeTokenResponse,
  ReconnectPayload,
  ResyncPayload,
  SnapshotPayload,
  User,
  Video,
  ViewersPayload,
} from '../src/index.js';
import { asConnected, asEnvelope, asReconnect, asResync, asTokenResponse, controlPayload } from '../src/wire.js';

/*
 * The client's wire types against the one schema source, @ovation/shared's zod schemas: the
 * type checks fail `tsc -p tsconfig.json` when a schema changes and the client does not (or the
 * other way round); the runtime checks hold the client's minimal guards to what the schemas accept.
 */
describe('the client wire types are the shared schemas', () => {
  it('are equal to the inferred types', () => {
    expectTypeOf<EventEnvelope>().toEqualTypeOf<TEventEnvelope>();
    expectTypeOf<LikePayload>().toEqualTypeOf<TLikePayload>();
    expectTypeOf<SnapshotPayload>().toEqualTypeOf<TSnapshotPayload>();
    expectTypeOf<ViewersPayload>().toEqualTypeOf<TViewersPayload>();
    expectTypeOf<PresencePayload>().toEqualTypeOf<TPresencePayload>();
    expectTypeOf<Comment>().toEqualTypeOf<TComment>();
    expectTypeOf<User>().toEqualTypeOf<TUser>();
    expectTypeOf<Video>().toEqualTypeOf<TVideo>();
    expectTypeOf<ConnectedPayload>().toEqualTypeOf<TConnectedPayload>();
    expectTypeOf<ReconnectPayload>().toEqualTypeOf<TReconnectPayload>();
    expectTypeOf<ResyncPayload>().toEqualTypeOf<TResyncPayload>();
    expectTypeOf<RealtimeTokenResponse>().toEqualTypeOf<TRealtimeTokenResponse>();
    expectTypeOf<ConnectToken>().toEqualTypeOf<ConnectTokenValue>();
  });

  it('guard frames as the schemas do', () => {
    const frames: Array<[unknown, (data: string) => unknown, { safeParse(v: unknown): { success: boolean } }]> = [
      [{ connectionId: 'c', nodeId: 'n', region: 'r' }, (d) => asConnected(controlPayload(d)), ConnectedPayloadSchema],
      [{ afterMs: 250 }, (d) => asReconnect(controlPayload(d)), ReconnectPayloadSchema],
      [{ afterMs: -1 }, (d) => asReconnect(controlPayload(d)), ReconnectPayloadSchema],
      [{ afterMs: 1.5 }, (d) => asReconnect(controlPayload(d)), ReconnectPayloadSchema],
      [{ topic: 'video:1', reason: 'gap' }, (d) => asResync(controlPayload(d)), ResyncPayloadSchema],
      [{ topic: 'video:1', reason: 'bored' }, (d) => asResync(controlPayload(d)), ResyncPayloadSchema],
      [
        { id: '1', topic: 'video:1', type: 'like', data: { count: 1 }, ts: 5 },
        (d) => asEnvelope(d, 'like'),
        EventEnvelopeSchema,
      ],
      [{ id: '1', topic: 'video:1', type: 'like', data: [], ts: 5 }, (d) => asEnvelope(d, 'like'), EventEnvelopeSchema],
      [
        { token: 't', expiresAt: 9, realtimeUrls: ['http://a'] },
        (d) => asTokenResponse(JSON.parse(d)),
        RealtimeTokenResponseSchema,
      ],
      [
        { token: 't', expiresAt: 9, realtimeUrls: [1] },
        (d) => asTokenResponse(JSON.parse(d)),
        RealtimeTokenResponseSchema,
      ],
    ];
    for (const [value, guard, schema] of frames) {
      expect({ value, accepted: guard(JSON.stringify(value)) !== undefined }).toEqual({
        value,
        accepted: schema.safeParse(value).success,
      });
    }
    // Payloads the client only types (it never acts on them) still match their schemas' shape.
    expect(LikePayloadSchema.safeParse({ count: 2, total: 9 } satisfies LikePayload).success).toBe(true);
    expect(SnapshotPayloadSchema.safeParse({ viewers: 1, likes: 2 } satisfies SnapshotPayload).success).toBe(true);
    expect(ViewersPayloadSchema.safeParse({ count: 3 } satisfies ViewersPayload).success).toBe(true);
    const comment: Comment = { id: 'c', videoId: 'v', author: { id: 'u', name: 'U' }, text: 'hi', at: 'now' };
    expect(CommentSchema.safeParse(comment).success).toBe(true);
  });
});
