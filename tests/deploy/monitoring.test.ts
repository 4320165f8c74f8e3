import { describe, expect, it } from 'vitest';
import { parsePromQL } from './promql.js';
import { at, isRecord, type Json, list, readText, readYaml, record, text } from './read.js';
import { dispatcherPublishOutcomes, exportedSeries, TIERS } from './tiers.js';

const SEVERITIES = new Set(['critical', 'warning', 'info']);
/** Grafana's reference to the dashboard's datasource variable (a Grafana placeholder, not a template). */
const DATASOURCE = ['$', '{datasource}'].join('');

/** Every `expr` of the dashboard's panels, nested rows included. */
function dashboardQueries(panels: unknown[]): Array<{ panel: string; expr: string }> {
  return panels.flatMap((panel) => {
    const title = String(at(panel, 'title'));
    const own = list(at(panel, 'targets') ?? [], `${title} targets`).map((t) => ({
      panel: title,
      expr: text(at(t, 'expr'), `${title} expr`),
    }));
    return [...own, ...dashboardQueries(list(at(panel, 'panels') ?? [], `${title} panels`))];
  });
}

/** An expression that parses, on series some tier exports, for jobs that are the tiers. */
async function expectRealQuery(expr: string, what: string): Promise<string[]> {
  const series = await exportedSeries();
  const parsed = parsePromQL(expr);
  expect(parsed.errors, `${what}: ${expr}`).toEqual([]);
  expect(parsed.metrics.length, `${what}: selects no metric`).toBeGreaterThan(0);
  for (const metric of parsed.metrics)
    expect(series.has(metric), `${what}: ${metric} is exported by no tier`).toBe(true);
  for (const job of parsed.jobs) expect(TIERS as readonly string[], `${what}: job ${job}`).toContain(job);
  return parsed.metrics;
}

describe('deploy/prometheus/alerts.yaml', () => {
  const groups = list(at(readYaml('deploy/prometheus/alerts.yaml'), 'groups'), 'groups');
  const rules = groups.flatMap((g) =>
    list(at(g, 'rules'), `group ${String(at(g, 'name'))}`).map((r) => record(r, 'rule')),
  );

  it('is a Prometheus rule file: named groups of alerts with a severity and a summary', () => {
    expect(new Set(groups.map((g) => at(g, 'name'))).size).toBe(groups.length);
    const names = rules.map((r) => text(r.alert, 'alert'));
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      const what = String(rule.alert);
      for (const key of Object.keys(rule))
        expect(['alert', 'expr', 'for', 'labels', 'annotations'], what).toContain(key);
      if (rule.for !== undefined) expect(text(rule.for, `${what} for`)).toMatch(/^\d+[smh]$/);
      expect(SEVERITIES.has(String(at(rule, 'labels', 'severity'))), `${what} severity`).toBe(true);
      expect(text(at(rule, 'annotations', 'summary'), `${what} summary`).length).toBeGreaterThan(0);
    }
  });

  it('alerts only on series the tiers export, in expressions that parse', async () => {
    const used = new Set<string>();
    for (const rule of rules) {
      for (const m of await expectRealQuery(text(rule.expr, 'expr'), String(rule.alert))) used.add(m);
    }
    // The signals an operator is paged on are covered.
    for (const metric of [
      'up',
      'dispatcher_publish_requests_total',
      'dispatcher_relay_dropped_total',
      'realtime_order_gaps_total',
    ]) {
      expect(used).toContain(metric);
    }
  });

  it('alerts on each publish outcome the dispatcher refuses with at most one rule, unreplicated included', () => {
    const counted = dispatcherPublishOutcomes();
    expect(counted).toContain('unreplicated');
    const alerted = rules.flatMap((rule) =>
      parsePromQL(text(rule.expr, 'expr'))
        .matchers.filter((m) => m.metric === 'dispatcher_publish_requests_total' && m.label === 'outcome')
        .flatMap((m) => m.values.map((outcome) => ({ alert: String(rule.alert), outcome }))),
    );
    for (const { alert, outcome } of alerted) expect(counted, `${alert}: outcome ${outcome}`).toContain(outcome);
    const outcomes = alerted.map((a) => a.outcome);
    expect(new Set(outcomes).size, 'an outcome alerted twice').toBe(outcomes.length);
    expect(alerted.find((a) => a.outcome === 'unreplicated')?.alert).toBe('DispatcherPublishesUnreplicated');
  });
});

describe('deploy/grafana/ovation.json', () => {
  const dashboard = record(JSON.parse(readText('deploy/grafana/ovation.json')), 'dashboard');
  const panels = list(dashboard.panels, 'panels');

  it('is an importable dashboard: unique panel ids, a Prometheus datasource variable, positions', () => {
    expect(dashboard.uid).toBe('ovation');
    const ids = panels.map((p) => at(p, 'id'));
    expect(new Set(ids).size).toBe(ids.length);
    const variables = list(at(dashboard, 'templating', 'list'), 'templating');
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const panel of panels) {
      const gridPos = record(at(panel, 'gridPos'), `${String(at(panel, 'title'))} gridPos`);
      expect(Number(gridPos.x) + Number(gridPos.w)).toBeLessThanOrEqual(24);
      if (at(panel, 'type') !== 'row') expect(at(panel, 'datasource', 'uid')).toBe(DATASOURCE);
    }
  });

  it('charts only series the tiers export, in queries that parse', async () => {
    const queries = dashboardQueries(panels);
    expect(queries.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const { panel, expr } of queries) for (const m of await expectRealQuery(expr, panel)) used.add(m);
    expect(used).toContain('realtime_connections');
    expect(used).toContain('dispatcher_published_events_total');
  });
});

describe('scrape configs', () => {
  const jobsOf = (config: Json) => list(config.scrape_configs, 'scrape_configs').map((s) => record(s, 'scrape config'));

  it('send Authorization: Bearer <INTERNAL_TOKEN> on every scrape (/metrics refuses without it)', () => {
    for (const file of ['deploy/prometheus/prometheus.yaml', 'deploy/prometheus/compose-prometheus.yaml']) {
      const config = record(readYaml(file), file);
      expect(list(config.rule_files, 'rule_files')).toEqual(['alerts.yaml']);
      for (const job of jobsOf(config)) {
        expect(at(job, 'authorization', 'type'), `${file} ${String(job.job_name)}`).toBe('Bearer');
        expect(typeof at(job, 'authorization', 'credentials_file')).toBe('string');
        expect(job.bearer_token).toBeUndefined();
      }
    }
  });

  it('name the jobs after the tiers, as the rules and dashboard expect', () => {
    const compose = record(readYaml('deploy/prometheus/compose-prometheus.yaml'), 'compose prometheus');
    expect(jobsOf(compose).map((j) => j.job_name)).toEqual([...TIERS]);
    const k8s = record(readYaml('deploy/prometheus/prometheus.yaml'), 'prometheus');
    const relabels = jobsOf(k8s).flatMap((j) => list(j.relabel_configs, 'relabel_configs'));
    expect(relabels).toContainEqual({
      source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
      target_label: 'job',
    });
    // …and the Deployments carry that label with the tier's name (manifests.test.ts builds them).
    for (const tier of TIERS) {
      const file = tier === 'web' ? 'deploy/k8s/web/web.yaml' : `deploy/k8s/base/${tier}.yaml`;
      expect(readText(file)).toContain(`app.kubernetes.io/name: ${tier} }`);
    }
  });

  it('read the token Compose mounts from INTERNAL_TOKEN', () => {
    const compose = record(readYaml('deploy/compose/compose.yaml'), 'compose');
    const prometheus = record(at(compose, 'services', 'prometheus'), 'prometheus service');
    expect(prometheus.secrets).toEqual(['internal_token']);
    expect(at(compose, 'secrets', 'internal_token')).toEqual({ environment: 'INTERNAL_TOKEN' });
    const scrape = record(readYaml('deploy/prometheus/compose-prometheus.yaml'), 'compose prometheus');
    for (const job of jobsOf(scrape)) {
      expect(at(job, 'authorization', 'credentials_file')).toBe('/run/secrets/internal_token');
    }
    expect(isRecord(prometheus)).toBe(true);
  });
});
