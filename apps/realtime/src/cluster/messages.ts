import { z } from 'zod';

/*
 * What crosses between the processes of one realtime machine (WORKERS > 1). These messages never
 * leave the machine and only one app speaks them, so their schemas live here rather than in
 * packages/shared (which holds what crosses between tiers).
 *
 *   worker ──IPC { type: 'listening', index, url }──▶ primary    its internal listener is up
 *   primary ──IPC { type: 'peers', peers }──────────▶ workers    index → internal URL, on every change
 *   worker ──GET <peer>/internal/metrics───────────▶ worker     the peer's registry as JSON
 */

const WorkerIndexSchema = z.number().int().min(0).max(63);

export const WorkerListeningSchema = z.object({
  type: z.literal('listening'),
  index: WorkerIndexSchema,
  url: z.url(),
});
export type TWorkerListening = z.infer<typeof WorkerListeningSchema>;

export const PeersMessageSchema = z.object({
  type: z.literal('peers'),
  /** Worker index (as a string: JSON keys) → its internal listener's URL. */
  peers: z.record(z.string().regex(/^\d{1,2}$/), z.url()),
});
export type TPeersMessage = z.infer<typeof PeersMessageSchema>;

/** prom-client's `registry.getMetricsAsJSON()`, as far as `AggregatorRegistry.aggregate` reads it. */
export const MetricsJsonSchema = z.array(
  z.looseObject({
    name: z.string(),
    help: z.string(),
    type: z.string(),
    aggregator: z.enum(['omit', 'sum', 'first', 'min', 'max', 'average']).optional(),
    values: z.array(
      z.looseObject({
        value: z.number().nullable(),
        labels: z.record(z.string(), z.union([z.string(), z.number()])),
        metricName: z.string().optional(),
      }),
    ),
  }),
);
