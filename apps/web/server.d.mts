/** Types of apps/web/server.mjs (plain JS so that it runs without a build step). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type TrustProxy = (address: string, hop: number) => boolean;

export function baseHeaders(production: boolean): Record<string, string>;

export function edgeHandler(options: {
  handle: (req: IncomingMessage, res: ServerResponse) => unknown;
  trust: TrustProxy;
  bodyLimit?: number;
  headers?: Record<string, string>;
}): (req: IncomingMessage, res: ServerResponse) => void;

export function rememberPeers<S extends import('node:net').Server>(server: S): S;
