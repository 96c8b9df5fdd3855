/**
 * The Release `Date`: reading it from a live Release, and
 * choosing the next `Date` so that it never goes backwards.
 *
 * @module
 */

import { parseRelease } from "../repo/release.ts";

/**
 * The `Date` of a Release text (read by `parseRelease` in
 * `lambda/repo/release.ts`), or `undefined` when it has none (or there is no
 * Release).
 */
export function releaseDateOf(release: string | undefined): Date | undefined {
  return release === undefined ? undefined : parseRelease(release).date;
}

/** How far ahead of the clock a live Release's `Date` is still followed: 1 hour. */
export const MAX_RELEASE_DATE_AHEAD_MS = 60 * 60 * 1000;

/**
 * The `Date` of the next Release: `now` to the second, but at least one
 * second after the live Release's `Date` (apt ignores a Release older than
 * the one it has). A live `Date` more than `maxAheadMs` in the future (a
 * broken clock or a bad Release, which apt refuses as "not valid yet") is not
 * followed: the answer is then `now`.
 */
export function nextReleaseDate(
  now: Date,
  live: Date | undefined,
  options: { maxAheadMs?: number } = {},
): Date {
  const seconds = Math.floor(now.getTime() / 1000) * 1000;
  if (live === undefined) return new Date(seconds);
  if (live.getTime() - now.getTime() > (options.maxAheadMs ?? MAX_RELEASE_DATE_AHEAD_MS)) {
    return new Date(seconds);
  }
  const after = Math.floor(live.getTime() / 1000) * 1000 + 1000;
  return new Date(Math.max(seconds, after));
}
