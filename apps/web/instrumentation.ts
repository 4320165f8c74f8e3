/**
 * Runs once when the web server starts. The environment is validated there (Node runtime only),
 * so a bad value stops the process with one line naming the variable instead of failing the
 * first request.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { validateOnStart } = await import('./lib/server/validate-on-start');
    validateOnStart();
  }
}
