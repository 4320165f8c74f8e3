import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Connection } from '../src/connections/connection.js';
import { TopicTable } from '../src/connections/topic-table.js';

/** A connection that never streams (the table only uses its topics and observer flag). */
function connection(observer = false): Connection {
  return new Connection(`c${Math.random()}`, {} as ServerResponse, 0, 1024, () => {}, observer);
}

describe('TopicTable', () => {
  it('counts viewers per topic, leaving observers (the studio) out, and reports first/last viewers', () => {
    const table = new TopicTable();
    const viewer = connection();
    const studio = connection(true);
    expect(table.subscribe(studio, ['video:1'])).toEqual(['video:1']);
    expect(table.subscribe(viewer, ['video:1', 'video:2'])).toEqual(['video:2']);
    expect(table.counts()).toEqual({ 'video:1': 1, 'video:2': 1 });
    expect(table.subscribers('video:1')?.size).toBe(2);
    expect(table.unsubscribe(viewer, ['video:1'])).toEqual([]);
    expect(table.counts()).toEqual({ 'video:1': 0, 'video:2': 1 });
    expect(table.unsubscribe(studio, ['video:1'])).toEqual(['video:1']);
    expect(table.counts()).toEqual({ 'video:2': 1 });
  });
});
