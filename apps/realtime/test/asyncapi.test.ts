import asyncApiSpecs from '@asyncapi/specs';
import type { SseFrame } from '@ovation/shared';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../../../test-support/http.js';
import { startPipe } from '../../../test-support/pipe.js';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';

/*
 * GET /asyncapi.json: a valid AsyncAPI 3.0 document (the official JSON Schema of @asyncapi/specs,
 * with ajv; every $ref resolves), and what a real stream sends fits it — every frame is a
 * documented message whose payload schema takes its data, and every documented message is sent.
 */

const TOKEN = 'realtime-asyncapi-token-123456';
let dispatcher: FastifyInstance;
let node: FastifyInstance;
let dispatcherUrl: string;
let nodeUrl: string;
let document: AsyncApiDocument;
let nodeClosed: Promise<void> | undefined;

type JsonSchema = Record<string, unknown>;
type AsyncApiDocument = {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, unknown> }>;
  operations: Record<string, { bindings: { http: { method: string; query: JsonSchema } } }>;
  components: { messages: Record<string, { payload: JsonSchema; headers?: JsonSchema }> };
};

beforeAll(async () => {
  ({ dispatcher, node, dispatcherUrl, nodeUrl } = await startPipe(TOKEN, {
    dispatcher: { VIEWER_COUNT_INTERVAL_MS: '100' },
    node: { HEARTBEAT_MS: '200', DRAIN_MS: '100' },
  }));
  const response = await fetch(`${nodeUrl}/asyncapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  document = (await response.json()) as AsyncApiDocument;
});

afterAll(async () => {
  await (nodeClosed ?? node.close());
  await dispatcher.close();
});

// Payloads are AsyncAPI schemas (draft 7 and a few keywords more): ajv's default draft.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);

function payloadValidator(name: string): ValidateFunction {
  const message = document.components.messages[name];
  if (!message) throw new Error(`no message ${name} in the document`);
  return ajv.compile(message.payload);
}

/** Every `$ref` in the document points at something in it (the JSON Schema cannot check that). */
function unresolvedRefs(root: unknown): string[] {
  const missing: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string') {
          let target: unknown = root;
          for (const part of child.replace(/^#\//, '').split('/')) {
            target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
          }
          if (!child.startsWith('#/') || target === undefined) missing.push(child);
        } else walk(child);
      }
    }
  };
  walk(root);
  return missing;
}

describe('GET /asyncapi.json', () => {
  it('is a valid AsyncAPI 3.0 document', () => {
    expect(document.asyncapi).toBe('3.0.0');
    // The official schema bundles its own copy of the draft-07 meta-schema: ajv must not add another.
    const validate = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    addFormats.default(validate);
    const valid = validate.validate(asyncApiSpecs.schemas['3.0.0'], document);
    expect(validate.errorsText(validate.errors)).toBe('No errors');
    expect(valid).toBe(true);
    expect(unresolvedRefs(document)).toEqual([]);
    // The checks can fail: a broken document is refused.
    const broken = structuredClone(document) as unknown as Record<string, Record<string, Record<string, unknown>>>;
    (broken.operations as Record<string, Record<string, unknown>>).receiveEvents = { action: 'listen' };
    expect(validate.validate(asyncApiSpecs.schemas['3.0.0'], broken)).toBe(false);
    const badPayload = structuredClone(document);
    (badPayload.components.messages.like as { payload: JsonSchema }).payload = { type: 'objekt' };
    expect(validate.validate(asyncApiSpecs.schemas['3.0.0'], badPayload)).toBe(false);
    expect(unresolvedRefs({ ...document, channels: {} }).length).toBeGreaterThan(0);
  });

  it('documents GET /connect and its query parameters as the node reads them', async () => {
    expect(document.channels.connect?.address).toBe('/connect');
    const { method, query } = document.operations.receiveEvents?.bindings.http ?? { method: '', query: {} };
    expect(method).toBe('GET');
    const validQuery = ajv.compile(query);
    expect(Object.keys(query.properties as object).sort()).toEqual(['lastEventId', 'observer', 'token', 'topics']);
    expect(validQuery({ topics: 'video:1,video:2', observer: '1' })).toBe(true);
    expect(validQuery({ observer: '2' })).toBe(false);
    expect(validQuery({ lastEventId: 'x'.repeat(4097) })).toBe(false);
    // What the document refuses, the node refuses too.
    expect((await fetch(`${nodeUrl}/connect?topics=video:1&observer=2`)).status).toBe(400);
    expect((await fetch(`${nodeUrl}/connect?lastEventId=${'x'.repeat(4097)}`)).status).toBe(400);
  });

  it('describes every frame a stream sends, and sends every message it describes', async () => {
    const topic = 'video:asyncapi';
    // A resume point from no log: `resync`, then the snapshot.
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=${topic}&lastEventId=nonsense`);
    const send = async (type: string, data: Record<string, unknown>) => {
      const response = await postJson(
        `${dispatcherUrl}/publish`,
        { topic, type, data },
        { authorization: `Bearer ${TOKEN}` },
      );
      expect(response.status).toBe(202);
    };
    await send('like', { count: 3, total: 3, sample: [{ id: 'u1', name: 'Ann' }] });
    const comment = {
      id: 'c1',
      videoId: 'asyncapi',
      author: { id: 'u1', name: 'Ann' },
      text: 'hi',
      at: '2026-12-06T06:00:00.000Z',
    };
    await send('comment', comment);
    await send('comment_deleted', { id: 'c1', videoId: 'asyncapi' });
    await send('status', { videoId: 'asyncapi', status: 'ended' });
    await send('poll', { question: 'any data a publisher sends' });
    const has = (event: string) => viewer.frames.some((f) => f.event === event);
    await waitFor('every kind of frame', () =>
      [
        'connected',
        'resync',
        'snapshot',
        'like',
        'comment',
        'comment_deleted',
        'status',
        'poll',
        'viewers',
        'heartbeat',
      ].every(has),
    );
    // A node that stops tells its viewers to reconnect.
    nodeClosed = node.close();
    await waitFor('reconnect', () => has('reconnect'));
    await nodeClosed;
    viewer.close();

    const messages = document.components.messages;
    const sent = new Set<string>();
    for (const frame of viewer.frames as SseFrame[]) {
      const name = frame.event in messages ? frame.event : 'event';
      sent.add(name);
      const validate = payloadValidator(name);
      const data = JSON.parse(frame.data) as unknown;
      expect(validate(data), `${frame.event}: ${ajv.errorsText(validate.errors)} in ${frame.data}`).toBe(true);
      // Published events and snapshots are resume points (`id:`); server frames never are.
      expect(frame.id !== undefined, `${frame.event} id`).toBe(messages[name]?.headers !== undefined);
    }
    expect([...sent].sort()).toEqual(Object.keys(messages).sort());
    // The payload schemas refuse what no stream sends.
    expect(payloadValidator('like')({ id: 'x', topic, type: 'like', ts: 1, data: { count: 0 } })).toBe(false);
    expect(payloadValidator('resync')({ topic, reason: 'because' })).toBe(false);
    expect(payloadValidator('connected')({ connectionId: 'c' })).toBe(false);
  });
});
