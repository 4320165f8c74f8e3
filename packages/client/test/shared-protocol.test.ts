import { EVENT_TYPE_PATTERN, MAX_TOPICS_PER_CONNECTION, TOPIC_PATTERN, TopicSchema } from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import * as protocol from '../src/shared-protocol.js';
import { asHubMessage, asTabMessage, SHARED_PROTOCOL_VERSION, topicProblem } from '../src/shared-protocol.js';

/*
 * The shared connection's rules mirror @ovation/shared's (the client cannot import it at run
 * time): equal constants, and the topic check accepting exactly what TopicSchema accepts (plus the
 * video id rule of GET /api/realtime-token for `video:` topics).
 */
describe('the shared connection protocol', () => {
  it("mirrors @ovation/shared's limits", () => {
    expect(protocol.TOPIC_PATTERN.source).toBe(TOPIC_PATTERN.source);
    expect(protocol.EVENT_TYPE_PATTERN.source).toBe(EVENT_TYPE_PATTERN.source);
    expect(protocol.MAX_TOPICS_PER_CONNECTION).toBe(MAX_TOPICS_PER_CONNECTION);
    expect(protocol.MAX_VIDEOS_PER_TOKEN).toBe(MAX_TOPICS_PER_CONNECTION - 1);
    expect(protocol.VIDEO_ID_PATTERN.source).toBe('^[A-Za-z0-9_-]{1,64}$');
  });

  it('accepts a topic only where the shared schema does, and a video topic only with a valid id', () => {
    const cases = [
      'videos',
      'video:abc',
      'video:a-b_c',
      'room:1',
      'a,b',
      'video:a b',
      'video:a%20b',
      '',
      'x'.repeat(129),
    ];
    for (const topic of cases) {
      if (!TopicSchema.safeParse(topic).success) expect(topicProblem(topic), topic).toBe('invalid');
    }
    expect(topicProblem('video:abc')).toBeUndefined();
    expect(topicProblem('room:1')).toBeUndefined();
    expect(topicProblem(`video:${'x'.repeat(64)}`)).toBeUndefined();
    expect(topicProblem(`video:${'x'.repeat(65)}`)).toBe('invalid');
    expect(topicProblem('video:')).toBe('invalid');
    expect(topicProblem('video:a:b')).toBe('invalid');
  });

  it('drops messages that are not of this version or not of their shape', () => {
    const v = SHARED_PROTOCOL_VERSION;
    const want = {
      v,
      t: 'want',
      tab: 't1',
      topics: ['video:a'],
      types: ['comment', 'BAD'],
      lastIds: { 'video:a': 'i1', 'a,b': 'i2' },
    };
    expect(asTabMessage(want)).toEqual({ ...want, types: ['comment'], lastIds: { 'video:a': 'i1' } });
    expect(asTabMessage({ ...want, v: v - 1 })).toBeUndefined();
    expect(asTabMessage({ ...want, topics: 'video:a' })).toBeUndefined();
    expect(asTabMessage({ ...want, lastIds: null })).toBeUndefined();
    expect(asTabMessage({ ...want, config: { name: 'n', urls: ['javascript:x'] } })).toBeUndefined();
    expect(asTabMessage({ v, t: 'bye', tab: 't1' })).toEqual({ v, t: 'bye', tab: 't1' });
    expect(asTabMessage({ v, t: 'bye' })).toBeUndefined();
    expect(
      asHubMessage({ v, t: 'event', event: { id: 'e', topic: 'video:a', type: 'comment', data: {}, ts: 1 } }),
    ).toBeDefined();
    expect(
      asHubMessage({ v, t: 'event', event: { id: 'e', topic: 'video:a', type: 'comment', data: [], ts: 1 } }),
    ).toBeUndefined();
    expect(
      asHubMessage({ v, t: 'event', event: { id: 'e', topic: 'a,b', type: 'comment', data: {}, ts: 1 } }),
    ).toBeUndefined();
    expect(asHubMessage({ v, t: 'status', status: 'open', node: 'http://a' })).toBeDefined();
    expect(asHubMessage({ v, t: 'status', status: 'nope' })).toBeUndefined();
    expect(asHubMessage({ v, t: 'refused', topics: { 'video:x': 'invalid', y: 'why' } })).toEqual({
      v,
      t: 'refused',
      topics: { 'video:x': 'invalid' },
    });
    const snapshot = { id: 'e', topic: 'video:a', type: 'snapshot', data: { viewers: 1, likes: 2 }, ts: 1 };
    expect(asHubMessage({ v, t: 'state', tab: 't1', event: snapshot })).toEqual({
      v,
      t: 'state',
      tab: 't1',
      event: snapshot,
    });
    // Only a snapshot, for a well-formed tab.
    expect(asHubMessage({ v, t: 'state', tab: 't1', event: { ...snapshot, type: 'comment' } })).toBeUndefined();
    expect(asHubMessage({ v, t: 'state', tab: 'a b', event: snapshot })).toBeUndefined();
    expect(asHubMessage({ v, t: 'state', event: snapshot })).toBeUndefined();
    expect(asHubMessage({ v, t: 'leader' })).toBeUndefined();
    expect(asHubMessage(undefined)).toBeUndefined();
  });
});
