import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config.js';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { freePort } from '../../test-support/ports.js';
import { containersOf, type K8sObject, kustomizeBuild } from './kustomize.js';
import { at, isRecord, type Json, list, readText, readYaml, record, text } from './read.js';
import {
  answerWithoutDependencies,
  DEFAULT_DRAIN_MS,
  DEFAULT_PORT,
  ENV_KEYS,
  exportedSeries,
  loadTierConfig,
  SECRETS,
  sampleSecrets,
  TIERS,
  type Tier,
} from './tiers.js';

const OVERLAYS = [
  'deploy/k8s/overlays/one-region',
  'deploy/k8s/overlays/one-region-cluster',
  'deploy/k8s/overlays/two-regions/eu',
  'deploy/k8s/overlays/two-regions/us',
];
const CLUSTER_OVERLAY = 'deploy/k8s/overlays/one-region-cluster';
const run = promisify(execFile);
const SCRIPT = 'deploy/k8s/redis-cluster/start-node.sh';
const SECRET_NAME = 'ovation-secrets';

/** Schema validation with the official Kubernetes OpenAPI schemas kubernetes-models bundles. */
function validateSchema(object: K8sObject): void {
  if (Deployment.is(object)) new Deployment(object).validate();
  else if (StatefulSet.is(object)) new StatefulSet(object).validate();
  else if (Service.is(object)) new Service(object).validate();
  else if (ConfigMap.is(object)) new ConfigMap(object).validate();
  else if (PodDisruptionBudget.is(object)) new PodDisruptionBudget(object).validate();
  else if (HorizontalPodAutoscaler.is(object)) new HorizontalPodAutoscaler(object).validate();
  else if (Job.is(object)) new Job(object).validate();
  else throw new Error(`${object.apiVersion} ${object.kind}: no schema for it in this test`);
}

function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function podSpec(object: K8sObject): Json {
  return record(at(object, 'spec', 'template', 'spec'), `${object.kind} ${object.metadata.name} pod spec`);
}

function preStopSleepSeconds(container: Json): number {
  const preStop = at(container, 'lifecycle', 'preStop');
  const sleep = at(preStop, 'sleep', 'seconds');
  if (typeof sleep === 'number') return sleep;
  const command = at(preStop, 'exec', 'command');
  if (Array.isArray(command) && command[0] === 'sleep') return Number(command[1]);
  throw new Error(`container ${String(container.name)}: preStop is not a sleep`);
}

/** The environment a tier's container starts with: its ConfigMaps, env values, and sample secrets. */
function containerEnv(objects: K8sObject[], container: Json, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of list(container.envFrom ?? [], 'envFrom')) {
    const name = text(at(source, 'configMapRef', 'name'), 'envFrom configMapRef.name');
    Object.assign(env, record(named(objects, 'ConfigMap', name).data, `ConfigMap ${name} data`));
  }
  for (const entry of list(container.env ?? [], 'env')) {
    const name = text(at(entry, 'name'), 'env name');
    const secretKey = at(entry, 'valueFrom', 'secretKeyRef', 'key');
    const field = at(entry, 'valueFrom', 'fieldRef', 'fieldPath');
    if (typeof secretKey === 'string') env[name] = secrets[secretKey] ?? '';
    else if (field === 'status.podIP') env[name] = POD_IP;
    else if (field === 'metadata.name') env[name] = 'realtime-5d8f7c9b4-x2x7q';
    // Kubernetes' $(VAR) expansion, from the variables defined before this one.
    else env[name] = text(at(entry, 'value'), `env ${name}`).replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '');
  }
  return env;
}

/** The Redis StatefulSet a Service of that name selects (a single server: REDIS_URL). */
function redisServerBehind(objects: K8sObject[], serviceName: string): K8sObject {
  const selector = record(at(named(objects, 'Service', serviceName), 'spec', 'selector'), `${serviceName} selector`);
  const selected = objects.filter(
    (o) =>
      o.kind === 'StatefulSet' &&
      Object.entries(selector).every(([key, value]) => at(o, 'spec', 'template', 'metadata', 'labels', key) === value),
  );
  expect(
    selected.map((o) => o.metadata.name),
    `Service ${serviceName} selects`,
  ).toHaveLength(1);
  const server = selected[0] as K8sObject;
  expect(text(containersOf(server)[0]?.image, 'image')).toMatch(/^redis:/);
  return server;
}

function redisPort(server: K8sObject): number {
  const port = list(containersOf(server)[0]?.ports, 'ports').find((p) => at(p, 'name') === 'redis');
  return Number(at(port, 'containerPort'));
}

/**
 * The StatefulSet a REDIS_CLUSTER_NODES list names, and which of its pods: each seed must be a pod's
 * stable DNS name, <StatefulSet>-<i>.<its headless Service>, on the Redis port.
 */
function clusterNodesOf(objects: K8sObject[], seeds: string): { statefulSet: K8sObject; indexes: number[] } {
  const statefulSets = new Set<K8sObject>();
  const indexes: number[] = [];
  for (const seed of seeds.split(',')) {
    const match = /^([a-z0-9-]+)-(\d+)\.([a-z0-9-]+):(\d+)$/.exec(seed);
    if (!match) throw new Error(`REDIS_CLUSTER_NODES ${seed}: not <StatefulSet>-<i>.<Service>:<port>`);
    const [, name = '', index = '', serviceName = '', port = ''] = match;
    const statefulSet = named(objects, 'StatefulSet', name);
    expect(at(statefulSet, 'spec', 'serviceName'), seed).toBe(serviceName);
    expect(at(named(objects, 'Service', serviceName), 'spec', 'clusterIP'), `${serviceName} is headless`).toBe('None');
    expect(Number(index), seed).toBeLessThan(Number(at(statefulSet, 'spec', 'replicas')));
    expect(Number(port), seed).toBe(redisPort(statefulSet));
    statefulSets.add(statefulSet);
    indexes.push(Number(index));
  }
  expect(statefulSets.size, 'one cluster').toBe(1);
  return { statefulSet: [...statefulSets][0] as K8sObject, indexes: indexes.sort((a, b) => a - b) };
}

/** What the downward API gives `status.podIP` in these tests. */
const POD_IP = '10.1.2.3';

/** A CPU quantity in cores: "2" → 2, "250m" → 0.25. */
function cores(quantity: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(quantity));
  if (!match) throw new Error(`CPU quantity ${String(quantity)}: expected <n> or <n>m`);
  return Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
}

/** Seconds a probe takes to give up: a failing container meets its consequence after this. */
function probeWindow(probe: unknown): number {
  return Number(at(probe, 'periodSeconds') ?? 10) * Number(at(probe, 'failureThreshold') ?? 3);
}

/** The realtime container of deploy/k8s/base, with the objects it refers to. */
function baseRealtime(): { objects: K8sObject[]; container: Json } {
  const objects = kustomizeBuild('deploy/k8s/base');
  return { objects, container: containersOf(named(objects, 'Deployment', 'realtime'))[0] ?? {} };
}

function realtimeLivenessCommand(): string[] {
  const command = at(baseRealtime().container, 'livenessProbe', 'exec', 'command');
  return list(command, 'realtime livenessProbe exec command').map((part) => text(part, 'command'));
}

/** The overlay's objects, or why it does not build (reported by its first test, not at collection). */
function tryBuild(overlay: string): K8sObject[] | Error {
  try {
    return kustomizeBuild(overlay);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

describe.each(OVERLAYS)('kustomize build %s', (overlay) => {
  const built = tryBuild(overlay);
  const objects = built instanceof Error ? [] : built;

  it('builds', () => {
    if (built instanceof Error) throw built;
    expect(objects.length).toBeGreaterThan(0);
  });
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const tierOf = (deployment: K8sObject): Tier => {
    const tier = TIERS.find((t) => t === deployment.metadata.name);
    if (!tier) throw new Error(`Deployment ${deployment.metadata.name} is no Ovation tier`);
    return tier;
  };

  it('has only objects valid against the Kubernetes schemas, in the overlay namespace', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      overlay.endsWith('/us') ? ['dispatcher', 'realtime'] : ['dispatcher', 'realtime', 'web'],
    );
    for (const object of objects) {
      expect(() => validateSchema(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(object.metadata.namespace).toBe('ovation');
    }
  });

  it('probes readiness on /healthz and liveness on /livez, on the port the tier listens on', () => {
    for (const deployment of deployments) {
      const tier = tierOf(deployment);
      for (const container of containersOf(deployment)) {
        const http = list(container.ports, 'ports').find((p) => at(p, 'name') === 'http');
        expect(at(http, 'containerPort'), `${tier} http port`).toBe(DEFAULT_PORT[tier]);
        const readiness = at(container, 'readinessProbe');
        const liveness = at(container, 'livenessProbe');
        expect(at(readiness, 'httpGet', 'path'), `${tier} readinessProbe`).toBe('/healthz');
        expect(['http', DEFAULT_PORT[tier]]).toContain(at(readiness, 'httpGet', 'port'));
        if (tier === 'realtime') {
          // /livez of every worker: the command 'the realtime liveness probe' (below) runs.
          expect(at(liveness, 'exec', 'command'), 'realtime livenessProbe').toEqual(realtimeLivenessCommand());
        } else {
          expect(at(liveness, 'httpGet', 'path'), `${tier} livenessProbe`).toBe('/livez');
          expect(['http', DEFAULT_PORT[tier]]).toContain(at(liveness, 'httpGet', 'port'));
        }
        // Out of the Service before a restart is even considered; a restart within a minute.
        expect(probeWindow(liveness), tier).toBeGreaterThan(probeWindow(readiness));
        expect(probeWindow(liveness), tier).toBeLessThanOrEqual(60);
        const env = containerEnv(objects, container, sampleSecrets());
        expect(Number(env.PORT ?? DEFAULT_PORT[tier])).toBe(DEFAULT_PORT[tier]);
      }
    }
  });

  it('probes paths the tiers serve: /livez alive and /healthz not ready while their dependencies are down', async () => {
    for (const tier of new Set(deployments.map(tierOf))) {
      if (tier === 'web') {
        expect(await answerWithoutDependencies(tier, '/livez')).toBe('handler');
        expect(await answerWithoutDependencies(tier, '/healthz')).toBe('handler');
      } else {
        expect(await answerWithoutDependencies(tier, '/livez'), `${tier} /livez`).toBe(200);
        expect(await answerWithoutDependencies(tier, '/healthz'), `${tier} /healthz`).toBe(503);
      }
    }
  });

  it('gives each realtime worker its own declared port, its pod IP and name, and a CPU', () => {
    const realtime = named(objects, 'Deployment', 'realtime');
    for (const container of containersOf(realtime)) {
      const env = containerEnv(objects, container, sampleSecrets());
      const config = loadRealtimeConfig(env);
      // Worker i registers PUBLIC_URL's host with port INTERNAL_PORT + i: the pod itself.
      expect(new URL(config.publicUrl ?? '').hostname).toBe(POD_IP);
      expect(env.NODE_ID).toBe('realtime-5d8f7c9b4-x2x7q');
      const ports = list(container.ports, 'ports').map((p) => [at(p, 'name'), at(p, 'containerPort')]);
      const internal = Array.from({ length: config.workers > 1 ? config.workers : 0 }, (_, i) => [
        `internal-${i}`,
        config.internalPort + i,
      ]);
      expect(ports).toEqual([['http', DEFAULT_PORT.realtime], ...internal]);
      // A fixed internal port (not one the OS picks), so it can be declared above.
      if (config.workers > 1) expect(config.internalPort).toBeGreaterThan(0);
      expect(cores(at(container, 'resources', 'requests', 'cpu'))).toBe(config.workers);
    }
  });

  it('gives every pod longer to stop than its preStop pause and (realtime) DRAIN_MS', () => {
    for (const deployment of deployments) {
      const grace = podSpec(deployment).terminationGracePeriodSeconds;
      expect(typeof grace, `${deployment.metadata.name} terminationGracePeriodSeconds`).toBe('number');
      for (const container of containersOf(deployment)) {
        const env = containerEnv(objects, container, sampleSecrets());
        const drainSeconds = tierOf(deployment) === 'realtime' ? Number(env.DRAIN_MS ?? DEFAULT_DRAIN_MS) / 1000 : 0;
        expect(grace, deployment.metadata.name).toBeGreaterThan(drainSeconds + preStopSleepSeconds(container));
      }
    }
  });

  it('has a PodDisruptionBudget per Deployment that still lets a node drain', () => {
    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const deployment of deployments) {
      const labels = record(at(deployment, 'spec', 'template', 'metadata', 'labels'), 'pod labels');
      const covering = budgets.filter((pdb) =>
        Object.entries(record(at(pdb, 'spec', 'selector', 'matchLabels'), 'PDB selector')).every(
          ([key, value]) => labels[key] === value,
        ),
      );
      expect(covering.length, `PDBs covering ${deployment.metadata.name}`).toBe(1);
      const minAvailable = at(covering[0], 'spec', 'minAvailable');
      const replicas = at(deployment, 'spec', 'replicas');
      if (typeof minAvailable === 'number') expect(minAvailable).toBeLessThan(Number(replicas));
      else expect(at(covering[0], 'spec', 'maxUnavailable')).toBeGreaterThanOrEqual(1);
    }
  });

  it('scales realtime on the connections gauge the nodes export, and leaves replicas to the HPA', async () => {
    const series = await exportedSeries();
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(hpas).toHaveLength(1);
    const hpa = hpas[0];
    expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'realtime' });
    const metric = list(at(hpa, 'spec', 'metrics'), 'HPA metrics').find((m) => at(m, 'type') === 'Pods');
    const name = text(at(metric, 'pods', 'metric', 'name'), 'HPA Pods metric name');
    expect(name).toBe('realtime_connections');
    expect(series.get(name)).toBe('gauge');
    expect(at(metric, 'pods', 'target', 'type')).toBe('AverageValue');
    // A pod's gauge is the sum over its workers, each holding up to MAX_CONNECTIONS.
    const node = loadRealtimeConfig(
      containerEnv(objects, containersOf(named(objects, 'Deployment', 'realtime'))[0] ?? {}, sampleSecrets()),
    );
    expect(Number(at(metric, 'pods', 'target', 'averageValue'))).toBeLessThan(node.workers * node.maxConnections);
    expect(Number(at(metric, 'pods', 'target', 'averageValue'))).toBeGreaterThan(
      (node.workers - 1) * node.maxConnections,
    );
    expect(at(named(objects, 'Deployment', 'realtime'), 'spec', 'replicas')).toBeUndefined();
    // The Prometheus adapter serves the metric under the name the HPA asks for.
    const rules = list(at(readYaml('deploy/prometheus/adapter-rules.yaml'), 'rules'), 'adapter rules');
    expect(rules.map((r) => at(r, 'name', 'as'))).toContain(name);
    expect(rules.map((r) => text(at(r, 'seriesQuery'), 'seriesQuery').split('{')[0])).toContain(name);
  });

  it('takes the secrets from the Secret ovation-secrets only, and keeps none here', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const deployment of deployments) {
      const tier = tierOf(deployment);
      for (const container of containersOf(deployment)) {
        const env = list(container.env, 'env');
        for (const secret of SECRETS[tier]) {
          const entry = env.find((e) => at(e, 'name') === secret);
          expect(at(entry, 'valueFrom', 'secretKeyRef'), `${tier} ${secret}`).toEqual({
            name: SECRET_NAME,
            key: secret,
          });
        }
        for (const source of list(container.envFrom ?? [], 'envFrom')) {
          const data = record(
            named(objects, 'ConfigMap', text(at(source, 'configMapRef', 'name'), 'ref')).data,
            'data',
          );
          for (const secret of Object.values(SECRETS).flat()) expect(Object.keys(data)).not.toContain(secret);
        }
      }
    }
  });

  it('sets only variables the tier reads, with values its own config parser accepts', () => {
    for (const deployment of deployments) {
      const tier = tierOf(deployment);
      for (const container of containersOf(deployment)) {
        const env = containerEnv(objects, container, sampleSecrets());
        // POD_IP only feeds PUBLIC_URL's $(POD_IP).
        const unread = Object.keys(env).filter((key) => !ENV_KEYS[tier].has(key) && key !== 'POD_IP');
        expect(unread, `${tier}: variables no code reads`).toEqual([]);
        expect(env.NODE_ENV).toBe('production');
        expect(env.HOST).toBe('0.0.0.0');
        expect(() => loadTierConfig(tier, env), tier).not.toThrow();
      }
    }
  });

  it('points the dispatchers and the web at a Redis of this overlay: a server, or every node of a cluster', () => {
    for (const deployment of deployments) {
      const tier = tierOf(deployment);
      for (const container of containersOf(deployment)) {
        const env = containerEnv(objects, container, sampleSecrets());
        if (tier === 'realtime') {
          expect(
            Object.keys(env).filter((key) => key.startsWith('REDIS_')),
            tier,
          ).toEqual([]);
          continue;
        }
        expect([env.REDIS_URL, env.REDIS_CLUSTER_NODES].filter(Boolean), `${tier}: one Redis`).toHaveLength(1);
        if (env.REDIS_URL) {
          const url = new URL(env.REDIS_URL);
          const server = redisServerBehind(objects, url.hostname);
          expect(Number(url.port || 6379)).toBe(redisPort(server));
        } else {
          const { statefulSet, indexes } = clusterNodesOf(objects, env.REDIS_CLUSTER_NODES ?? '');
          // Every node a seed: a client starts while any one of them answers.
          expect(indexes).toEqual(Array.from({ length: Number(at(statefulSet, 'spec', 'replicas')) }, (_, i) => i));
        }
      }
    }
  });

  it('runs every container as non-root on a read-only root filesystem, with requests and limits', () => {
    for (const workload of objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
      const what = `${workload.kind} ${workload.metadata.name}`;
      const pod = podSpec(workload);
      expect(at(pod, 'securityContext', 'runAsNonRoot'), what).toBe(true);
      expect(at(pod, 'securityContext', 'runAsUser'), what).toBeGreaterThan(0);
      for (const container of containersOf(workload)) {
        expect(at(container, 'securityContext', 'readOnlyRootFilesystem'), what).toBe(true);
        expect(at(container, 'securityContext', 'allowPrivilegeEscalation'), what).toBe(false);
        expect(at(container, 'securityContext', 'capabilities', 'drop'), what).toEqual(['ALL']);
        for (const bound of ['requests', 'limits']) {
          expect(Object.keys(record(at(container, 'resources', bound), `${what} ${bound}`)).sort(), what).toEqual([
            'cpu',
            'memory',
          ]);
        }
        expect(text(container.image, 'image')).toMatch(/:[\w.-]+$/);
        // Every volume mounted exists in the pod (a StatefulSet's own: its volumeClaimTemplates).
        const volumes = [
          ...list(pod.volumes ?? [], 'volumes'),
          ...list(at(workload, 'spec', 'volumeClaimTemplates') ?? [], 'volumeClaimTemplates'),
        ].map((v) => at(v, 'name') ?? at(v, 'metadata', 'name'));
        for (const mount of list(container.volumeMounts ?? [], 'volumeMounts')) {
          expect(volumes, what).toContain(at(mount, 'name'));
        }
      }
    }
  });

  it('has a Service per workload, selecting its pods, on a port its container names', () => {
    for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      const service = named(objects, 'Service', workload.metadata.name);
      const labels = record(at(workload, 'spec', 'template', 'metadata', 'labels'), 'labels');
      for (const [key, value] of Object.entries(record(at(service, 'spec', 'selector'), 'selector'))) {
        expect(labels[key], `${workload.metadata.name} Service selector ${key}`).toBe(value);
      }
      const portNames = containersOf(workload).flatMap((c) => list(c.ports, 'ports').map((p) => at(p, 'name')));
      for (const port of list(at(service, 'spec', 'ports'), 'Service ports')) {
        expect(portNames).toContain(at(port, 'targetPort'));
      }
    }
  });
});

describe(`kustomize build ${CLUSTER_OVERLAY}: the Redis Cluster`, () => {
  const built = tryBuild(CLUSTER_OVERLAY);
  const objects = built instanceof Error ? [] : built;
  const get = (kind: string, name: string) => {
    if (built instanceof Error) throw built;
    return named(objects, kind, name);
  };
  const seeds = () =>
    text(record(get('ConfigMap', 'dispatcher-config').data, 'data').REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES');
  /** `--flag value` of a container's args, with Kubernetes' $(VAR) left as written. */
  const flag = (container: Json, name: string) => {
    const args = list(container.args, 'args').map(String);
    const index = args.indexOf(name);
    expect(index, `${name} in args`).toBeGreaterThanOrEqual(0);
    return args[index + 1];
  };

  it('gives the dispatchers and the web REDIS_CLUSTER_NODES and no REDIS_URL; a 202 waits for a replica', () => {
    expect(objects.filter((o) => o.metadata.name === 'redis')).toEqual([]);
    for (const name of ['dispatcher', 'web']) {
      const container = containersOf(get('Deployment', name))[0] ?? {};
      const env = containerEnv(objects, container, sampleSecrets());
      expect(env.REDIS_URL, name).toBeUndefined();
      expect(env.REDIS_CLUSTER_NODES, name).toBe(seeds());
    }
    const dispatcher = containerEnv(objects, containersOf(get('Deployment', 'dispatcher'))[0] ?? {}, sampleSecrets());
    expect(dispatcher.REDIS_WAIT_REPLICAS).toBe('1');
    const config = loadDispatcherConfig(dispatcher);
    expect(config.redis?.kind).toBe('cluster');
    expect(config.durability.waitReplicas).toBe(1);
  });

  it('runs six nodes in cluster mode, each keeping its node id and data on its own volume, announcing its pod IP and name', () => {
    const statefulSet = get('StatefulSet', 'redis-cluster');
    expect(at(statefulSet, 'spec', 'replicas')).toBe(6);
    expect(at(statefulSet, 'spec', 'podManagementPolicy')).toBe('Parallel');
    const container = containersOf(statefulSet)[0] ?? {};
    const env = list(container.env, 'env');
    const fieldOf = (name: string) =>
      at(
        env.find((e) => at(e, 'name') === name),
        'valueFrom',
        'fieldRef',
        'fieldPath',
      );
    expect(flag(container, '--cluster-enabled')).toBe('yes');
    // The cluster config on a volume of the pod's own claim: a restarted pod is the same node.
    const claims = list(at(statefulSet, 'spec', 'volumeClaimTemplates'), 'claims').map((c) =>
      at(c, 'metadata', 'name'),
    );
    const onClaim = (path: string) =>
      list(container.volumeMounts, 'mounts').some(
        (m) => claims.includes(at(m, 'name')) && path.startsWith(`${text(at(m, 'mountPath'), 'mountPath')}/`),
      );
    expect(onClaim(text(flag(container, '--cluster-config-file'), 'config file'))).toBe(true);
    expect(flag(container, '--appendonly')).toBe('yes');
    expect(onClaim(`${text(flag(container, '--dir'), 'dir')}/appendonly`)).toBe(true);
    expect(flag(container, '--cluster-announce-ip')).toBe('$(POD_IP)');
    expect(fieldOf('POD_IP')).toBe('status.podIP');
    const serviceName = text(at(statefulSet, 'spec', 'serviceName'), 'serviceName');
    expect(flag(container, '--cluster-announce-hostname')).toBe(`$(POD_NAME).${serviceName}`);
    expect(fieldOf('POD_NAME')).toBe('metadata.name');
    // The client port and the cluster bus (+10000), on the pod and on the headless Service.
    const port = Number(flag(container, '--port'));
    expect(port).toBe(redisPort(statefulSet));
    const bus = list(container.ports, 'ports').find((p) => at(p, 'containerPort') === port + 10_000);
    const service = get('Service', serviceName);
    expect(at(service, 'spec', 'clusterIP')).toBe('None');
    expect(at(service, 'spec', 'publishNotReadyAddresses')).toBe(true);
    expect(list(at(service, 'spec', 'ports'), 'ports').map((p) => at(p, 'targetPort'))).toContain(at(bus, 'name'));
    // Started through start-node.sh, which first looks the other nodes up (for up to
    // REDIS_RESOLVE_SECONDS) and holds a master back until its replica took over, at most until
    // 8 × the node timeout + 4 s after its start and a last round of asking the 5 other nodes (a
    // second each): liveness must not restart it meanwhile.
    expect(container.command).toEqual(['sh', '/scripts/start-node.sh']);
    const resolveSeconds = Number(/\$\{REDIS_RESOLVE_SECONDS:-(\d+)\}/.exec(readText(SCRIPT))?.[1]);
    expect(resolveSeconds).toBeGreaterThan(0);
    const takeoverSeconds = (8 * Number(flag(container, '--cluster-node-timeout')) + 4000) / 1000 + 5;
    expect(probeWindow(at(container, 'livenessProbe'))).toBeGreaterThan(Math.max(resolveSeconds, takeoverSeconds));
    const budget = get('PodDisruptionBudget', 'redis-cluster');
    expect(at(budget, 'spec', 'maxUnavailable')).toBe(1);
  });

  it('forms the cluster once, with a Job over every node: one replica per master, at least three masters', () => {
    const job = get('Job', 'redis-cluster-create');
    const container = containersOf(job)[0] ?? {};
    expect(container.command).toEqual(['sh', '/scripts/create-cluster.sh']);
    const env = Object.fromEntries(list(container.env, 'env').map((e) => [at(e, 'name'), at(e, 'value')]));
    expect(env.REDIS_NODES).toBe(seeds());
    const nodes = seeds().split(',').length;
    const replicas = Number(env.CLUSTER_REPLICAS);
    expect(replicas).toBe(1);
    expect(nodes % (replicas + 1)).toBe(0);
    expect(nodes / (replicas + 1)).toBeGreaterThanOrEqual(3);
    expect(at(job, 'spec', 'backoffLimit')).toBeGreaterThan(0);
    // The scripts the pods mount are the ones in the repository (redis-cluster.test.ts runs them).
    const scripts = record(get('ConfigMap', 'redis-cluster-scripts').data, 'scripts');
    for (const file of ['create-cluster.sh', 'node-ready.sh', 'start-node.sh']) {
      expect(scripts[file]).toBe(readText(`deploy/k8s/redis-cluster/${file}`));
    }
    // A replica is ready once it has its master's data (node-ready.sh), not when it first answers.
    const node = containersOf(get('StatefulSet', 'redis-cluster'))[0];
    expect(at(node, 'readinessProbe', 'exec', 'command')).toEqual(['sh', '/scripts/node-ready.sh']);
    for (const workload of [job, get('StatefulSet', 'redis-cluster')]) {
      const volumes = list(podSpec(workload).volumes, 'volumes');
      const scriptsVolume = volumes.find((v) => at(v, 'configMap', 'name') === 'redis-cluster-scripts');
      const mount = list(containersOf(workload)[0]?.volumeMounts, 'mounts').find(
        (m) => at(m, 'name') === at(scriptsVolume, 'name'),
      );
      expect(at(mount, 'mountPath'), workload.metadata.name).toBe('/scripts');
    }
  });
});

describe('the realtime liveness probe', () => {
  /*
   * The probe's command run as the kubelet runs it (in the container's environment), against
   * servers standing in for the shared port and each worker's internal listener, on ports of this
   * machine. Each records that it was asked for /livez; a `stuck` one never answers.
   */
  const { objects, container } = baseRealtime();
  const probe = at(container, 'livenessProbe');
  const env = containerEnv(objects, container, sampleSecrets());
  const { workers } = loadRealtimeConfig(env);
  const servers: Server[] = [];
  const asked = new Set<number>();
  const stuck = new Set<number>();
  let shared = 0;
  let internal: number[] = [];

  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer((request, response) => {
        asked.add(port);
        if (request.url !== '/livez' || stuck.has(port)) return;
        response.end('{"status":"alive"}');
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  /** Servers on `count` consecutive free ports (INTERNAL_PORT + i); another process may hold one. */
  async function listenConsecutive(count: number): Promise<number[]> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const base = await freePort();
      const ports = Array.from({ length: count }, (_, i) => base + i);
      const bound = await Promise.allSettled(ports.map(listen));
      const listening = bound.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      servers.push(...listening);
      if (listening.length === count) return ports;
      await Promise.all(listening.map(close));
    }
    throw new Error(`no ${count} consecutive free ports`);
  }

  beforeAll(async () => {
    shared = await freePort();
    servers.push(await listen(shared));
    internal = workers > 1 ? await listenConsecutive(workers) : [];
  });

  afterAll(async () => {
    await Promise.all(servers.filter((server) => server.listening).map(close));
  });

  async function runProbe(): Promise<{ code: number; stderr: string; ms: number }> {
    const [file = '', ...args] = realtimeLivenessCommand();
    const started = Date.now();
    const probeEnv = {
      ...env,
      PATH: process.env.PATH ?? '',
      PORT: String(shared),
      INTERNAL_PORT: String(internal[0] ?? 0),
    };
    try {
      const { stderr } = await run(file, args, { env: probeEnv });
      return { code: 0, stderr, ms: Date.now() - started };
    } catch (error) {
      const failed = error as { code?: number; stderr?: string };
      return { code: failed.code ?? -1, stderr: failed.stderr ?? '', ms: Date.now() - started };
    }
  }

  it("runs node, which the realtime image's runtime stage is (fetch, AbortSignal.timeout: Node 18+)", () => {
    expect(realtimeLivenessCommand()[0]).toBe('node');
    const runtime = (readText('apps/realtime/Dockerfile').match(/^FROM \S+/gm) ?? []).at(-1) ?? '';
    expect(Number(/^FROM node:(\d+)/.exec(runtime)?.[1]), runtime).toBeGreaterThanOrEqual(18);
  });

  it('asks /livez of the shared port and of every worker WORKERS implies, and passes when all answer', async () => {
    asked.clear();
    stuck.clear();
    const result = await runProbe();
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const byNumber = (a: number, b: number) => a - b;
    expect([...asked].sort(byNumber)).toEqual([shared, ...internal].sort(byNumber));
  });

  it('fails within its timeout when one worker does not answer, naming its port', async () => {
    const worker = internal.at(-1) ?? shared;
    asked.clear();
    stuck.clear();
    stuck.add(worker);
    const result = await runProbe();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${worker}:`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.ms).toBeLessThan(Number(at(probe, 'timeoutSeconds')) * 1000);
  });
});

describe('two regions', () => {
  it('relay to each other: each region names the other in PEERS and itself in REGION', () => {
    const region = (overlay: string) => {
      const data = record(named(kustomizeBuild(overlay), 'ConfigMap', 'dispatcher-config').data, 'data');
      return { region: text(data.REGION, 'REGION'), peers: text(data.PEERS, 'PEERS') };
    };
    const eu = region('deploy/k8s/overlays/two-regions/eu');
    const us = region('deploy/k8s/overlays/two-regions/us');
    expect(eu.region).toBe('eu');
    expect(us.region).toBe('us');
    expect(eu.peers.split(',').map((p) => p.split('=')[0])).toEqual(['us']);
    expect(us.peers.split(',').map((p) => p.split('=')[0])).toEqual(['eu']);
    for (const overlay of OVERLAYS.filter((o) => o.includes('/two-regions/'))) {
      const realtime = record(named(kustomizeBuild(overlay), 'ConfigMap', 'realtime-config').data, 'data');
      expect(realtime.REGION).toBe(overlay.split('/').pop());
    }
  });
});

describe('the kustomize builder of this test', () => {
  it('refuses what it cannot build and patches that do not apply', () => {
    expect(() => kustomizeBuild('deploy/k8s')).toThrow(/no kustomization.yaml/);
    const objects = kustomizeBuild('deploy/k8s/base');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toContain('HorizontalPodAutoscaler/realtime');
    expect(isRecord(objects[0]?.metadata)).toBe(true);
    // configMapGenerator: one key per file, the generator's labels, no namespace of its own.
    const generated = named(kustomizeBuild('deploy/k8s/redis-cluster'), 'ConfigMap', 'redis-cluster-scripts');
    expect(Object.keys(record(generated.data, 'data')).sort()).toEqual([
      'create-cluster.sh',
      'node-ready.sh',
      'start-node.sh',
    ]);
    expect(at(generated, 'metadata', 'labels', 'app.kubernetes.io/part-of')).toBe('ovation');
    expect(generated.metadata.namespace).toBeUndefined();
  });
});
