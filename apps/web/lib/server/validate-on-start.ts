import { loadWebConfig } from './config';

/** Exits with one line naming the variable when the web environment is invalid. */
export function validateOnStart(): void {
  try {
    loadWebConfig();
  } catch (error) {
    process.stderr.write(`web: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
