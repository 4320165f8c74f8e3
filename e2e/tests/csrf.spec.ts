import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, signUpAccount, test } from '../fixtures.js';

/*
 * Cross-site request forgery in a real browser. A victim is signed in on the web app; pages of
 * another origin (a tiny server started here, on a free port) try to use the victim's browser:
 *
 * - from another site (`localhost` vs `127.0.0.1`), a `<form enctype="text/plain">` that
 *   auto-submits a JSON-looking body to POST /api/session — which, if it went through, would set
 *   the attacker's session cookie in the victim's browser (login CSRF: their videos gone);
 * - from the same site but another origin (another port: SameSite=Lax cookies are sent), a
 *   `fetch(..., { mode: 'no-cors', credentials: 'include' })` posting a text/plain JSON body to
 *   create a video as the victim.
 *
 * Afterwards the victim's cookie, session and videos are exactly what they were.
 */

// The web runs in production mode here: its session cookie carries the __Host- prefix.
const SESSION_COOKIE = '__Host-ovation_session';

function attackerPages(web: string): string {
  return `<!doctype html><title>attacker</title><body><script>
const web = ${JSON.stringify(web)};
if (location.pathname === '/form') {
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = web + '/api/session';
  form.enctype = 'text/plain';
  const input = document.createElement('input');
  input.name = '{"name":"Mallory","x":"';
  input.value = '"}';
  form.append(input);
  document.body.append(form);
  form.submit();
} else {
  fetch(web + '/api/videos', {
    method: 'POST',
    mode: 'no-cors',
    credentials: 'include',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ title: 'Planted by the attacker' }),
  }).finally(() => { document.title = 'sent'; });
}
</script></body>`;
}

test.describe('cross-site request forgery', () => {
  let attacker: Server;
  let attackerPort: number;

  test.beforeAll(async ({ baseURL }) => {
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attackerPages(baseURL ?? ''));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
  });

  test.afterAll(async () => {
    await new Promise((resolve) => attacker.close(resolve));
  });

  test('another origin cannot replace the victim’s session or write with it', async ({ page, context, baseURL }) => {
    const web = new URL(baseURL ?? '');
    expect(web.hostname).toBe('127.0.0.1'); // the form below comes from `localhost`: another site

    // The victim: signed in with an account (broadcasting needs one), with a video of their own
    // (page.request shares the browser's cookies).
    const { user: victim } = await signUpAccount(page.request, web.origin, 'Victim');
    const created = await page.request.post('/api/videos', { data: { title: `Victim's stream ${Date.now()}` } });
    expect(created.status()).toBe(201);
    const videoId = ((await created.json()) as { video: { id: string } }).video.id;
    const cookieBefore = (await context.cookies(web.origin)).find((c) => c.name === SESSION_COOKIE);
    expect(cookieBefore).toBeDefined();

    // Same site, other origin: the Lax cookie goes along with the no-cors fetch.
    const forged: Array<{ url: string; status: number }> = [];
    page.on('response', (response) => {
      if (response.url().startsWith(`${web.origin}/api/`))
        forged.push({ url: response.url(), status: response.status() });
    });
    await page.goto(`http://127.0.0.1:${attackerPort}/fetch`);
    await expect(page).toHaveTitle('sent');

    // Another site: the form navigates the tab to the web app's answer.
    await page.goto(`http://localhost:${attackerPort}/form`);
    await page.waitForURL(`${web.origin}/api/session`);
    await expect(page.locator('body')).toContainText('"code":"FORBIDDEN"');

    expect(forged).toEqual([
      { url: `${web.origin}/api/videos`, status: 403 },
      { url: `${web.origin}/api/session`, status: 403 },
    ]);
    const cookieAfter = (await context.cookies(web.origin)).find((c) => c.name === SESSION_COOKIE);
    expect(cookieAfter?.value).toBe(cookieBefore?.value);
    const session = await page.request.get('/api/session');
    expect(((await session.json()) as { user: { id: string } | null }).user?.id).toBe(victim.id);
    const mine = await page.request.get('/api/videos?owner=me');
    const titles = ((await mine.json()) as { videos: Array<{ id: string; title: string }> }).videos;
    expect(titles.map((v) => v.id)).toEqual([videoId]);
  });
});

test('the viewer page plays the demo video with no Content-Security-Policy violation', async ({ viewer, page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(
        `Refused by CSP ${event.violatedDirective}: ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber} ${event.sample}`,
      );
    });
  });
  await viewer.goto('demo');
  // Read through Playwright's isolated world: its main-world `evaluate` runs `eval`, which the CSP
  // rightly reports as a violation of the page's (seen once with `viewer.currentTime()`).
  await expect(viewer.video).not.toHaveJSProperty('currentTime', 0, { timeout: 20_000 });
  await expect(viewer.video).toHaveJSProperty('paused', false);
  const csp = (await page.request.get('/live/demo')).headers()['content-security-policy'];
  expect(csp).toMatch(/script-src [^;]*'nonce-/);
  expect(violations).toEqual([]);
});
