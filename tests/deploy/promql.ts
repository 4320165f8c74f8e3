import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's interval variables, as Prometheus would see them once substituted. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '5m', $__interval: '1m', $__range: '1h' };

export interface ParsedQuery {
  /** Syntax errors, as the text they cover (empty: the expression parses). */
  errors: string[];
  /** Metric names selected (`foo` in `rate(foo{a="b"}[5m])`). */
  metrics: string[];
  /** Values matched against `job` (`=` and `=~`, alternatives split on `|`). */
  jobs: string[];
  /** Every `=` / `=~` label matcher with the metric it selects on (`=~` alternatives split on `|`). */
  matchers: Array<{ metric: string; label: string; values: string[] }>;
}

/** Parses with the Prometheus project's own PromQL grammar (the one its web UI uses). */
export function parsePromQL(source: string): ParsedQuery {
  const expr = source.replace(/\$__\w+/g, (name) => GRAFANA_VARIABLES[name] ?? name);
  const result: ParsedQuery = { errors: [], metrics: [], jobs: [], matchers: [] };
  parser.parse(expr).iterate({
    enter(node) {
      const covered = expr.slice(node.from, node.to);
      if (node.type.isError) result.errors.push(covered || `at ${node.from}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') result.metrics.push(covered);
      if (node.name === 'UnquotedLabelMatcher') {
        const match = covered.match(/^(\w+)\s*=~?\s*"([^"]*)"$/);
        const [, label = '', value] = match ?? [];
        if (value !== undefined) {
          const selector = node.node.parent?.parent;
          const identifier = selector?.name === 'VectorSelector' ? selector.getChild('Identifier') : null;
          const metric = identifier ? expr.slice(identifier.from, identifier.to) : '';
          result.matchers.push({ metric, label, values: value.split('|') });
          if (label === 'job') result.jobs.push(...value.split('|'));
        }
      }
    },
  });
  return result;
}
