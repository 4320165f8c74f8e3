/**
 * Runs once when the web server starts: the environment is validated here, so a bad value stops
 * the process with one line naming the variable instead of failing the first request.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { loadWebConfig } = await import('./lib/server/config');
  try {
    loadWebConfig();
  } catch (error) {
    process.stderr.write(`web: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
