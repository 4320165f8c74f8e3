import { AppError, type ErrorCode } from '@ovation/shared';
import { type NextRequest, NextResponse } from 'next/server';
import { loadWebConfig, type WebConfig } from './lib/server/config';

/*
 * Every request but static assets passes here before a page or route handler (Next's proxy, once
 * "middleware"), so a new route cannot forget these:
 *
 * - Cross-site writes. A method other than GET/HEAD/OPTIONS must come from the app's own origin:
 *   `Origin` one of WEB_ORIGINS (unset: the request's own Host), or, without `Origin`,
 *   `Sec-Fetch-Site` same-origin or none. A browser always sends one of them on a cross-site write
 *   (a `<form>` or a no-cors fetch included), so those are refused (403 FORBIDDEN) before the
 *   route runs — no cookie replaced (login CSRF), nothing written. A request with neither header
 *   is not a browser's (curl, a server): it is let through, its cookies are its own.
 * - Under /api, a body must be `application/json` (403 FORBIDDEN otherwise, as the contract says of
 *   state-changing routes): a form cannot send that type
 *   cross-site without a CORS preflight, and a text/plain body is never parsed as JSON. A request
 *   without a body (`start`, `end`, a DELETE) has nothing to misread.
 * - A Content-Security-Policy with a nonce per request: Next reads it from the request's CSP
 *   header and stamps it on its scripts (every page renders per request: app/layout.tsx).
 *
 * Body size and the client's address are settled earlier, in server.mjs; Next hands a proxy a
 * copy of the body (proxyClientMaxBodySize, next.config.mjs), which that keeps to 64 KiB.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type PolicyConfig = Pick<
  WebConfig,
  'nodeEnv' | 'realtimeUrls' | 'hlsOrigins' | 'frameAncestors' | 'webOrigins' | 'ingestOrigin'
>;

let settings: PolicyConfig | undefined;

export function proxy(request: NextRequest): Response {
  settings ??= loadWebConfig();
  const csp = contentSecurityPolicy(nonce(), settings);
  const refusal = crossSiteRefusal(request, settings.webOrigins);
  if (refusal) return withPolicy(refusal, csp, settings);
  const headers = new Headers(request.headers);
  headers.set('content-security-policy', csp);
  return withPolicy(NextResponse.next({ request: { headers } }), csp, settings);
}

export const config = {
  matcher: ['/((?!_next/static/|_next/image).*)'],
};

/** The refusal for a write that is not the app's own, or undefined to let it through. */
export function crossSiteRefusal(request: Request, webOrigins: readonly string[] | undefined): Response | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const origin = request.headers.get('origin');
  const site = request.headers.get('sec-fetch-site');
  if (origin !== null) {
    if (!isOwnOrigin(origin, request, webOrigins)) {
      return refuse('FORBIDDEN', `cross-site request refused: Origin ${origin} is not this app's origin`);
    }
  } else if (site !== null && site !== 'same-origin' && site !== 'none') {
    return refuse('FORBIDDEN', `cross-site request refused: Sec-Fetch-Site is ${site}`);
  }
  const { pathname } = new URL(request.url);
  if (pathname.startsWith('/api/') && hasBody(request.headers) && !isJson(request.headers.get('content-type'))) {
    return refuse('FORBIDDEN', 'headers.Content-Type: must be application/json');
  }
  return undefined;
}

function isOwnOrigin(origin: string, request: Request, webOrigins: readonly string[] | undefined): boolean {
  if (webOrigins) return webOrigins.includes(origin);
  // `Origin: null` (a sandboxed frame, a file) parses to no host and is refused.
  const host = URL.canParse(origin) ? new URL(origin).host : '';
  return host !== '' && host === request.headers.get('host')?.toLowerCase();
}

function hasBody(headers: Headers): boolean {
  return headers.has('transfer-encoding') || Number(headers.get('content-length') ?? 0) > 0;
}

function isJson(contentType: string | null): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

function refuse(code: ErrorCode, message: string): Response {
  const error = new AppError(code, message);
  return Response.json(error.toBody(), { status: error.status });
}

function nonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
}

/**
 * Scripts: only Next's, by nonce, and what they load ('strict-dynamic'). Video: hls.js fetches
 * playlists and segments (connect-src) and plays them through MediaSource (blob: media, and a
 * blob: worker); native HLS (Safari) loads the playlist as media. Live events: EventSource to the
 * realtime nodes. Styles allow inline `style` attributes (React and the charts set them).
 */
export function contentSecurityPolicy(nonceValue: string, config: PolicyConfig): string {
  const realtime = config.realtimeUrls.map((url) => new URL(url).origin);
  // A video's stream may be on any origin its owner gave (checked when created: checkHlsUrl),
  // unless HLS_ORIGINS names the allowed ones (then videos elsewhere are refused too).
  // The ingest's HLS (streams from broadcasters' encoders) is always allowed.
  const hls = [
    ...(config.hlsOrigins.length > 0
      ? config.hlsOrigins
      : config.nodeEnv === 'production'
        ? ['https:']
        : ['https:', 'http:']),
    ...(config.ingestOrigin ? [config.ingestOrigin] : []),
  ];
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': [
      "'self'",
      `'nonce-${nonceValue}'`,
      "'strict-dynamic'",
      // React's development build evaluates code for its error overlay.
      ...(config.nodeEnv === 'development' ? ["'unsafe-eval'"] : []),
    ],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...realtime, ...hls],
    'media-src': ["'self'", 'blob:', ...hls],
    'worker-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': config.frameAncestors.length > 0 ? [...config.frameAncestors] : ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${[...new Set(sources)].join(' ')}`)
    .join('; ');
}

function withPolicy(response: Response, csp: string, config: PolicyConfig): Response {
  response.headers.set('content-security-policy', csp);
  // For browsers without frame-ancestors; it cannot list origins, so only when none may embed.
  if (config.frameAncestors.length === 0) response.headers.set('x-frame-options', 'DENY');
  return response;
}
