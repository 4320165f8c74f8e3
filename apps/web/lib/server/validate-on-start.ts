import { startTracing } from '@ovation/shared/server';
import { loadWebConfig } from './config';

/**
 * Exits with one line naming the variable when the web environment is invalid; starts tracing
 * when an OTLP endpoint is set (Next then makes a span of each request, continuing a caller's
 * `traceparent`, and publishes carry the active span's on to the dispatchers).
 */
export function validateOnStart(): void {
  try {
    const config = loadWebConfig();
    startTracing({ serviceName: 'ovation-web', endpoint: config.otlpEndpoint });
  } catch (error) {
    process.stderr.write(`web: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
