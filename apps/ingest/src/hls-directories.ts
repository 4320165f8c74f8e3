import { mkdirSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Video and session ids name directories and URL paths: the web's answer is checked against this
 * before either is made of it (the shared schema only bounds their length).
 */
export const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** How long an interrupted session's HLS stays served (a player catching up, the studio's preview). */
export const KEEP_AFTER_END_MS = 60_000;

interface Current {
  sessionId: string;
  dir: string;
  removal: NodeJS.Timeout | undefined;
}

/**
 * `<HLS_DIR>/<videoId>/<sessionId>/` per publish. Each video's latest session is the one served;
 * it is kept until the video's next publish, or KEEP_AFTER_END_MS after it ended.
 */
export class HlsDirectories {
  private readonly current = new Map<string, Current>();

  constructor(
    private readonly root: string,
    private readonly keepAfterEndMs = KEEP_AFTER_END_MS,
  ) {}

  /** Makes the new session's directory (synchronously: one mkdir) and drops the previous one's. */
  begin(videoId: string, sessionId: string): string {
    if (!SAFE_ID.test(videoId) || !SAFE_ID.test(sessionId)) throw new Error('unsafe video or session id');
    const dir = join(this.root, videoId, sessionId);
    const previous = this.current.get(videoId);
    if (previous) {
      clearTimeout(previous.removal);
      if (previous.dir !== dir) this.remove(previous.dir);
    }
    mkdirSync(dir, { recursive: true });
    this.current.set(videoId, { sessionId, dir, removal: undefined });
    return dir;
  }

  /** The directory served for a video, if it has one. */
  served(videoId: string): string | undefined {
    return this.current.get(videoId)?.dir;
  }

  /** The session ended: its files go KEEP_AFTER_END_MS later, unless a newer session came first. */
  ended(videoId: string, sessionId: string): void {
    const entry = this.current.get(videoId);
    if (!entry || entry.sessionId !== sessionId) return;
    clearTimeout(entry.removal);
    entry.removal = setTimeout(() => {
      if (this.current.get(videoId) !== entry) return;
      this.current.delete(videoId);
      this.remove(entry.dir);
    }, this.keepAfterEndMs);
    entry.removal.unref();
  }

  /** Removes every session directory made here (the service is stopping; its ffmpegs are gone). */
  async close(): Promise<void> {
    const entries = [...this.current.values()];
    this.current.clear();
    for (const entry of entries) clearTimeout(entry.removal);
    await Promise.all(
      entries.map((entry) =>
        rm(entry.dir, { recursive: true, force: true })
          .then(() => rmdir(dirname(entry.dir)))
          .catch(() => {}),
      ),
    );
  }

  /** Removes a session's directory, and its video's when that is left empty (rmdir refuses otherwise). */
  private remove(dir: string): void {
    rm(dir, { recursive: true, force: true })
      .then(() => rmdir(dirname(dir)))
      .catch(() => {});
  }
}
