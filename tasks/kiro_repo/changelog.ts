/**
 * Debian changelogs (the format of `debian/changelog`): reading the entries,
 * and adding an entry for a version built with `--version`.
 *
 * The newest entry's date is the package's build date: every file of the
 * `.deb` carries it as its modification time (what dpkg calls
 * SOURCE_DATE_EPOCH), so that the same inputs give the same bytes.
 *
 * @module
 */

import { compareVersions } from "../../lambda/domain/version.ts";

/** One changelog entry. */
export interface ChangelogEntry {
  package: string;
  version: string;
  distribution: string;
  /** The entry's lines between the header and the trailer (the changes). */
  changes: string;
  /** `Name <email>`. */
  maintainer: string;
  /** The trailer's date as written (RFC 5322). */
  dateText: string;
  date: Date;
}

/** A changelog cannot be read, or has no entry for the version built. */
export class ChangelogError extends Error {
  override name = "ChangelogError";
}

const HEADER = /^([a-z0-9][a-z0-9+.-]+) \(([^()\s]+)\) ([a-z0-9-]+(?: [a-z0-9-]+)*); (.+)$/;
const TRAILER = /^ -- (.+ <[^<>]+>) {2}(.+)$/;
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DATE =
  /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** Parses an RFC 5322 changelog date (`Sun, 22 Nov 2026 12:00:00 +0000`); `undefined` if invalid. */
export function parseChangelogDate(text: string): Date | undefined {
  const match = DATE.exec(text);
  if (match === null) return undefined;
  const [, day, dd, mon, yyyy, hh, mm, ss, sign, zh, zm] = match as unknown as string[];
  const month = MONTHS.indexOf(mon as string);
  if (month < 0) return undefined;
  const offset = (sign === "-" ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  const utc = Date.UTC(Number(yyyy), month, Number(dd), Number(hh), Number(mm), Number(ss)) -
    offset * 60_000;
  const date = new Date(utc);
  // Reject 31 Feb and the like, and a day name that does not fit the date.
  const local = new Date(utc + offset * 60_000);
  if (local.getUTCDate() !== Number(dd) || DAYS[local.getUTCDay()] !== day) return undefined;
  return date;
}

/** The RFC 5322 form of `date` in UTC (`Sun, 22 Nov 2026 12:00:00 +0000`). */
export function formatChangelogDate(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:` +
    `${pad(date.getUTCSeconds())} +0000`;
}

/**
 * Every entry of `text`, newest first. Throws {@linkcode ChangelogError}
 * naming `options.source` and the line for a header or trailer that is not
 * in the Debian format, or a changelog without entries.
 */
export function parseChangelog(text: string, options: { source: string }): ChangelogEntry[] {
  const lines = text.split("\n");
  const entries: ChangelogEntry[] = [];
  let header: RegExpExecArray | undefined;
  let headerLine = 0;
  let body: string[] = [];
  const fail = (line: number, why: string): never => {
    throw new ChangelogError(`Cannot read ${options.source}, line ${line}: ${why}`);
  };
  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    if (header === undefined) {
      if (line.trim() === "") continue;
      const match = HEADER.exec(line);
      if (match === null) {
        fail(number, `expected an entry header "PACKAGE (VERSION) DISTRIBUTION; urgency=…"`);
      }
      header = match as RegExpExecArray;
      headerLine = number;
      body = [];
      continue;
    }
    if (line.startsWith(" -- ")) {
      const match = TRAILER.exec(line);
      if (match === null) {
        fail(number, `expected a trailer " -- Name <email>  DATE" (two spaces before the date)`);
      }
      const [, maintainer, dateText] = match as RegExpExecArray;
      const date = parseChangelogDate(dateText as string);
      if (date === undefined) {
        fail(
          number,
          `invalid date ${JSON.stringify(dateText)}: use "Sun, 22 Nov 2026 12:00:00 +0000"`,
        );
      }
      entries.push({
        package: header[1] as string,
        version: header[2] as string,
        distribution: header[3] as string,
        changes: body.join("\n").replace(/^\n+|\n+$/g, ""),
        maintainer: maintainer as string,
        dateText: dateText as string,
        date: date as Date,
      });
      header = undefined;
      continue;
    }
    if (HEADER.test(line)) fail(number, `the entry of line ${headerLine} has no trailer`);
    body.push(line);
  }
  if (header !== undefined) fail(headerLine, "this entry has no trailer");
  if (entries.length === 0) {
    throw new ChangelogError(`Cannot read ${options.source}: it has no entry`);
  }
  return entries;
}

/** What {@linkcode changelogFor} returns. */
export interface VersionChangelog {
  /** The changelog text to ship (ends with one `\n`). */
  text: string;
  /** The newest entry's date: the build date. */
  date: Date;
  /** Whether an entry was added for the version. */
  added: boolean;
}

/**
 * The changelog of a build of `version`:
 *
 * - the newest entry is `version`: the changelog as it is;
 * - `version` is newer (dpkg order): an entry is added on top, dated one
 *   second after the newest entry (so that the same inputs give the same
 *   package), saying it is a rebuild of the newest entry's contents;
 * - otherwise: {@linkcode ChangelogError} (an older version, or a version
 *   whose entry is not the newest, would ship a wrong changelog).
 */
export function changelogFor(
  text: string,
  version: string,
  options: { source: string; packageName: string; maintainer: string; note?: string },
): VersionChangelog {
  const entries = parseChangelog(text, { source: options.source });
  const newest = entries[0] as ChangelogEntry;
  for (const entry of entries) {
    if (entry.package !== options.packageName) {
      throw new ChangelogError(
        `Cannot use ${options.source}: the entry for ${entry.version} is for package ` +
          `${entry.package}, not ${options.packageName}`,
      );
    }
  }
  const body = text.replace(/^\n+/, "").replace(/\n*$/, "\n");
  if (newest.version === version) return { text: body, date: newest.date, added: false };
  if (compareVersions(version, newest.version) <= 0) {
    throw new ChangelogError(
      `Cannot build ${options.packageName} ${version}: the newest entry of ${options.source} ` +
        `is ${newest.version}; build a version newer than ${newest.version}, or add an entry ` +
        `for ${version} at the top of the changelog`,
    );
  }
  const date = new Date(newest.date.getTime() + 1000);
  const note = options.note ?? `Rebuild of ${newest.version} as ${version}.`;
  const entry = `${options.packageName} (${version}) ${newest.distribution}; urgency=medium\n\n` +
    `  * ${note}\n\n -- ${options.maintainer}  ${formatChangelogDate(date)}\n\n`;
  return { text: entry + body, date, added: true };
}
