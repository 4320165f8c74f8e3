import ipaddr from 'ipaddr.js';

/*
 * A video's `hlsUrl` is handed to every viewer's player, which fetches it from the viewer's own
 * machine: a URL aimed at loopback, the LAN or link-local addresses would turn a public video page
 * into a way to make viewers' browsers probe their own networks (routers, local dev servers).
 * No Ovation server ever fetches it, so there is no server-side request to forge; the check is on
 * the URL as written, parsed as a browser parses it (WHATWG URL: `http://2130706433/`,
 * `http://0x7f.1/` and `http://0177.0.0.1/` all become 127.0.0.1 before they are classified).
 * A public DNS name that resolves to a private address cannot be told from the text and is not
 * resolved here; browsers' Private Network Access checks are the layer for that.
 */

export const MAX_HLS_URL_LENGTH = 2048;

/** The demo stream the web tier serves itself: the one same-origin path a video may name. */
const SAME_ORIGIN_PATH = /^\/demo\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.m3u8$/;
/** Names only a local resolver answers (RFC 6761, 6762, 8375; ICANN's `.internal`). */
const LOCAL_SUFFIXES = ['localhost', 'local', 'localdomain', 'internal', 'home.arpa', 'lan', 'intranet'];

export type HlsUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Checks a video's stream URL: at most 2 KiB; `http(s)` (`https` only in production) without
 * credentials, to a public host — no IP literal in a loopback, private (RFC 1918, unique-local),
 * link-local, CGNAT, unspecified, multicast, reserved or IPv4-embedding IPv6 range, no
 * `localhost`, `*.localhost`, other local-only suffix or single-label name — or the demo's own
 * `/demo/<name>.m3u8`. Returns the URL as the browser will use it.
 */
export function checkHlsUrl(raw: string, options: { production: boolean }): HlsUrlCheck {
  if (raw.length > MAX_HLS_URL_LENGTH) return { ok: false, reason: `must be at most ${MAX_HLS_URL_LENGTH} characters` };
  if (SAME_ORIGIN_PATH.test(raw)) return { ok: true, url: raw };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !options.production)) {
    return { ok: false, reason: options.production ? 'must be an https URL' : 'must be an http(s) URL' };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry credentials' };
  const hostReason = refusedHost(url.hostname);
  if (hostReason) return { ok: false, reason: `host ${hostReason}` };
  if (url.href.length > MAX_HLS_URL_LENGTH)
    return { ok: false, reason: `must be at most ${MAX_HLS_URL_LENGTH} characters` };
  return { ok: true, url: url.href };
}

/** Why a host (as WHATWG URL serialises it) is not one a public stream lives on; undefined if it is. */
function refusedHost(hostname: string): string | undefined {
  // WHATWG URL writes an IPv6 literal in brackets and any IPv4 form as four decimal parts.
  const literal = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (literal !== hostname || ipaddr.IPv4.isValidFourPartDecimal(literal)) {
    if (!ipaddr.isValid(literal)) return 'is not an address ipaddr.js can classify';
    // process() turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) into the IPv4 it maps.
    const range = ipaddr.process(literal).range();
    return range === 'unicast' ? undefined : `is a ${range} address`;
  }
  const name = hostname.replace(/\.+$/, '').toLowerCase();
  if (!name.includes('.')) return 'must be a public DNS name or address';
  if (LOCAL_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`))) {
    return 'is a local-only name';
  }
  return undefined;
}
