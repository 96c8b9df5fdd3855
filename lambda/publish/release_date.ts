/**
 * The Release `Date` and `Valid-Until`: reading them from a live Release, and
 * choosing the next `Date` so that it never goes backwards.
 *
 * @module
 */

/**
 * The `Date` of a Release text, or `undefined` when it has none (or there is
 * no Release).
 */
export function releaseDateOf(release: string | undefined): Date | undefined {
  if (release === undefined) return undefined;
  const match = /^Date: (.+)$/m.exec(release);
  if (match?.[1] === undefined) return undefined;
  const time = Date.parse(match[1].trim());
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The `Valid-Until` of a Release text, or `undefined`. */
export function releaseValidUntilOf(release: string | undefined): Date | undefined {
  if (release === undefined) return undefined;
  const match = /^Valid-Until: (.+)$/m.exec(release);
  if (match?.[1] === undefined) return undefined;
  const time = Date.parse(match[1].trim());
  return Number.isNaN(time) ? undefined : new Date(time);
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
