import type { TActivityMinute } from '@ovation/shared';

/**
 * Adds live likes/comments to the per-minute activity (oldest first): into the current minute's
 * bucket, opening new minutes (and dropping the oldest) as time moves on.
 */
export function addActivity(
  activity: readonly TActivityMinute[],
  now: number,
  likes: number,
  comments: number,
): TActivityMinute[] {
  const minute = Math.floor(now / 60_000) * 60_000;
  const out = activity.map((m) => ({ ...m }));
  const length = out.length || 10;
  let last = out.at(-1);
  while (!last || last.minute < minute) {
    const next = last ? last.minute + 60_000 : minute;
    out.push({ minute: Math.min(next, minute), likes: 0, comments: 0 });
    last = out.at(-1);
  }
  const bucket = out.find((m) => m.minute === minute);
  if (bucket) {
    bucket.likes += likes;
    bucket.comments += comments;
  }
  return out.slice(-length);
}

/** `base` (from the server) plus `adds` (seen live since), over base's window. */
export function mergeActivity(base: readonly TActivityMinute[], adds: readonly TActivityMinute[]): TActivityMinute[] {
  let out = base.map((m) => ({ ...m }));
  for (const add of adds) out = addActivity(out, add.minute, add.likes, add.comments);
  return out;
}
