import type { IncomingMessage } from 'node:http';
import { AppError } from '@ovation/shared';
import type { ConnectTokens } from '@ovation/shared/connect-token';
import { type Access, checkTopics, grantedAccess, guestAccess, topicMatcher } from './access.js';

/**
 * Who may open a stream, and on what: a connection token (`token` query parameter, which a plain
 * EventSource keeps in its URL across reconnects, or `Authorization: Bearer` for other clients)
 * verified with the key shared with the web tier; without one, a guest on the public topics —
 * unless tokens are required (production), then 401.
 */
export class ConnectAuth {
  private readonly guest: Access;

  constructor(private readonly options: { tokens: ConnectTokens; required: boolean; publicTopics: readonly string[] }) {
    this.guest = guestAccess(topicMatcher(options.publicTopics));
  }

  /** The connection's access; 401 (no or bad token) or 403 (a topic, or observing, not granted). */
  authorize(req: IncomingMessage, params: URLSearchParams, topics: readonly string[], observer: boolean): Access {
    const token = tokenOf(req, params);
    let access: Access;
    if (token !== undefined) access = grantedAccess(this.options.tokens.verify(token));
    else if (this.options.required) {
      throw new AppError('UNAUTHORIZED', 'a connection token is required (token=…, from GET /api/realtime-token)');
    } else access = this.guest;
    checkTopics(access, topics, observer);
    return access;
  }
}

function tokenOf(req: IncomingMessage, params: URLSearchParams): string | undefined {
  const query = params.get('token');
  if (query !== null && query.length > 0) return query;
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return undefined;
}
