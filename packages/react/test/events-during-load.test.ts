import type { Comment, OvationEvents, TypedEvent } from '@ovation/client';
import { describe, expect, it } from 'vitest';
import { EventsDuringLoads, MAX_EVENTS_DURING_LOAD } from '../src/events-during-load.js';

const comment = (id: string): TypedEvent<OvationEvents> => ({
  id,
  topic: 'video:v1',
  type: 'comment',
  data: { id, videoId: 'v1', author: { id: 'u1', name: 'A' }, text: id, at: 'now' } satisfies Comment,
  ts: 0,
});
const ids = (events: readonly TypedEvent<OvationEvents>[]) => events.map((e) => e.id);

describe('EventsDuringLoads', () => {
  it('keeps events only while a load is under way, and gives each load those since it started', async () => {
    const loads = new EventsDuringLoads();
    loads.heard(comment('before'));
    let answerFirst = () => {};
    let answerSecond = () => {};
    const first = loads.load(
      () => new Promise<string[]>((resolve) => (answerFirst = () => resolve([]))),
      (answer, events) => [...answer, ...ids(events)],
    );
    loads.heard(comment('a'));
    const second = loads.load(
      () => new Promise<string[]>((resolve) => (answerSecond = () => resolve([]))),
      (answer, events) => [...answer, ...ids(events)],
    );
    loads.heard(comment('b'));
    answerFirst();
    expect(await first).toEqual(['a', 'b']);
    loads.heard(comment('c'));
    answerSecond();
    expect(await second).toEqual(['b', 'c']);
    // All loads done: nothing is kept.
    loads.heard(comment('after'));
    expect(
      await loads.load(
        async (): Promise<string[]> => [],
        (answer, events) => [...answer, ...ids(events)],
      ),
    ).toEqual([]);
  });

  it(`keeps at most ${MAX_EVENTS_DURING_LOAD} events, the newest, however long a load takes`, async () => {
    const loads = new EventsDuringLoads();
    let answer = () => {};
    const load = loads.load(
      () => new Promise<string[]>((resolve) => (answer = () => resolve([]))),
      (answer, events) => [...answer, ...ids(events)],
    );
    for (let i = 0; i < MAX_EVENTS_DURING_LOAD + 50; i++) loads.heard(comment(`e${i}`));
    answer();
    const kept = await load;
    expect(kept).toHaveLength(MAX_EVENTS_DURING_LOAD);
    expect(kept[0]).toBe('e50');
    expect(kept.at(-1)).toBe(`e${MAX_EVENTS_DURING_LOAD + 49}`);
  });
});
