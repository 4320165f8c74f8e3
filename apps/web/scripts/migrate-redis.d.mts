/** Types of scripts/migrate-redis.mjs (plain JS so that an operator runs it with node). */
import type { Redis } from 'ioredis';

export const DEFAULT_PREFIX: string;

export interface MigrationSummary {
  dryRun: boolean;
  /** Renamed to the new name (a dry run: would be). */
  moved: number;
  /** The new name held the same value: the old copy removed (a dry run: would be). */
  alreadyThere: number;
  /** The new name holds another value: both left. */
  conflicts: number;
  /** Once records whose result names no video (a like's): left to expire. */
  unplaced: number;
  /** The web's keys of the same name in both layouts (published, revoked, rate limits). */
  unchanged: number;
  /** Under the prefix, of no known shape: left alone. */
  unknown: number;
  /** Up to 20 key names of each ("old -> new" for a conflict). */
  examples: { conflicts: string[]; unplaced: string[]; unknown: string[] };
}

export function migrateRedis(
  redis: Redis,
  options?: { prefix?: string; dryRun?: boolean; count?: number },
): Promise<MigrationSummary>;

export function formatSummary(summary: MigrationSummary, prefix: string): string;
