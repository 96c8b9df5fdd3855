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

/**
 * The `Date` of the next Release: `now` to the second, but at least one
 * second after the live Release's `Date` (apt ignores a Release older than
 * the one it has).
 */
export function nextReleaseDate(now: Date, live: Date | undefined): Date {
  const seconds = Math.floor(now.getTime() / 1000) * 1000;
  if (live === undefined) return new Date(seconds);
  const after = Math.floor(live.getTime() / 1000) * 1000 + 1000;
  return new Date(Math.max(seconds, after));
}
