import {
  encodeFrame,
  type LogPosition,
  parsePositionId,
  positionId,
  type TResyncPayload,
  type TSnapshotPayload,
  type TTopicCatchUp,
  type TWireEvent,
} from '@ovation/shared';
import type { Cutoff } from '../connections/connection.js';
import { encodeReplayedFrame } from '../fanout/encode-batch.js';

/*
 * What a connection joining topics receives before their live stream (see Connection.release):
 *
 *   fresh subscriber:  snapshot                             (viewers, like total, status)
 *   resuming:          replay of what it missed, snapshot   when its position is in the history
 *                      resync, snapshot                     when it is not (unknown, too old, or
 *                                                           more than one read returns)
 *   a topic the tier's answer left out: resync (`unavailable`) if resuming, nothing otherwise.
 *   (The tier unreachable: the join fails and the client is sent elsewhere, routes/connect.ts.)
 *
 * The cutoff per topic is the log position the catch-up was read at: live frames at or before it
 * are covered by the replay and the snapshot and are not written again.
 *
 * Cost: a round's results are shared by every connection that joined in it, so each replayed event
 * is encoded once per round (cached on the event object) and its Buffer is shared; a connection
 * holds references to them while its catch-up is paced out (connections/connection.ts).
 */

const replayed = new WeakMap<TWireEvent, Buffer>();

/** An event's replayed frame, encoded once per catch-up result (the results are shared). */
function replayedFrame(event: TWireEvent): Buffer {
  let frame = replayed.get(event);
  if (!frame) {
    frame = Buffer.from(encodeReplayedFrame(event));
    replayed.set(event, frame);
  }
  return frame;
}

/**
 * Resume points a client sent: `lastEventId` (or `Last-Event-ID`), one id or one per topic.
 * Undefined when it sent none; empty when none of them is an id of ours (every topic resyncs).
 */
export function parseResumeIds(raw: string | undefined): LogPosition[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const positions: LogPosition[] = [];
  for (const id of raw.split(',').slice(0, 64)) {
    const position = parsePositionId(id.trim());
    if (position) positions.push(position);
  }
  return positions;
}

/** The lowest position among resume points, for the catch-up request. */
export function lowestPosition(resume: readonly LogPosition[] | undefined): number | undefined {
  if (!resume || resume.length === 0) return undefined;
  return Math.min(...resume.map((p) => p.pos));
}

export function catchUpFrames(
  topics: readonly string[],
  results: ReadonlyMap<string, TTopicCatchUp> | undefined,
  resume: readonly LogPosition[] | undefined,
  now: number,
): { frames: Buffer[]; cutoffs: Map<string, Cutoff> } {
  const frames: Buffer[] = [];
  const cutoffs = new Map<string, Cutoff>();
  for (const topic of topics) {
    const result = results?.get(topic);
    if (!result) {
      if (resume) frames.push(Buffer.from(resync(topic, 'unavailable')));
      continue;
    }
    if (resume) replayOrResync(result, resume, now, frames);
    frames.push(Buffer.from(snapshot(result, now)));
    cutoffs.set(topic, { epoch: result.epoch, pos: result.pos });
  }
  return { frames, cutoffs };
}

function replayOrResync(result: TTopicCatchUp, resume: readonly LogPosition[], now: number, frames: Buffer[]): void {
  const from = resume.find((p) => p.epoch === result.epoch && p.region === result.region);
  if (!from || from.pos > result.pos) {
    frames.push(Buffer.from(resync(result.topic, 'unknown_id')));
    return;
  }
  if (now - from.ts > result.maxAgeMs || from.pos < result.trimmedThrough || result.cut) {
    frames.push(Buffer.from(resync(result.topic, 'too_old')));
    return;
  }
  for (const event of result.events) {
    const position = parsePositionId(event.id);
    if (position && position.pos > from.pos && position.pos <= result.pos) frames.push(replayedFrame(event));
  }
}

function snapshot(result: TTopicCatchUp, now: number): string {
  const id = positionId({ ts: now, pos: result.pos, epoch: result.epoch, region: result.region }, true);
  const data: TSnapshotPayload = {
    viewers: result.viewers,
    likes: result.likes,
    ...(result.reactions === undefined ? {} : { reactions: result.reactions }),
    ...(result.status === undefined ? {} : { status: result.status }),
  };
  return encodeFrame('snapshot', JSON.stringify({ id, topic: result.topic, type: 'snapshot', data, ts: now }), id);
}

function resync(topic: string, reason: TResyncPayload['reason']): string {
  const payload: TResyncPayload = { topic, reason };
  return encodeFrame('resync', JSON.stringify(payload));
}
