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
}

/** Parses with the Prometheus project's own PromQL grammar (the one its web UI uses). */
export function parsePromQL(source: string): ParsedQuery {
  const expr = source.replace(/\$__\w+/g, (name) => GRAFANA_VARIABLES[name] ?? name);
  const result: ParsedQuery = { errors: [], metrics: [], jobs: [] };
  parser.parse(expr).iterate({
    enter(node) {
      const covered = expr.slice(node.from, node.to);
      if (node.type.isError) result.errors.push(covered || `at ${node.from}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') result.metrics.push(covered);
      if (node.name === 'UnquotedLabelMatcher') {
        const match = covered.match(/^job\s*=~?\s*"([^"]*)"$/);
        if (match?.[1] !== undefined) result.jobs.push(...match[1].split('|'));
      }
    },
  });
  return result;
}
