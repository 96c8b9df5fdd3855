/**
 * The `Release` file of a suite: what apt reads first, and the only file that
 * is signed. It names the suite and lists every index file under
 * `dists/{suite}/` with its size and MD5, SHA-1 and SHA-256 digests, so that
 * apt can check each index it downloads.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** An index file to list in the Release file. */
export interface ReleaseEntry {
  /** The path relative to `dists/{suite}/`, e.g. `main/binary-amd64/Packages.gz`. */
  path: string;
  bytes: Uint8Array;
  /** The digests of `bytes`, when the caller has them already (they are not checked). */
  digests?: FileDigests;
}

/** Hex MD5, SHA-1 and SHA-256 of a file. */
export interface FileDigests {
  md5: string;
  sha1: string;
  sha256: string;
}

/**
 * MD5, SHA-1 and SHA-256 of `bytes`, hex.
 *
 * @example
 * ```ts
 * fileDigests(new Uint8Array()).sha256; // "e3b0c442…"
 * ```
 */
export function fileDigests(bytes: Uint8Array): FileDigests {
  return {
    md5: createHash("md5").update(bytes).digest("hex"),
    sha1: createHash("sha1").update(bytes).digest("hex"),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/** The fields of the Release file. */
export interface ReleaseOptions {
  origin: string;
  label: string;
  suite: string;
  codename: string;
  /** The repository's version (e.g. `1.0`); an empty string leaves the field out. */
  version: string;
  /** An empty string leaves the field out (apt treats it as optional). */
  description: string;
  architectures: readonly string[];
  components: readonly string[];
  /** When the indexes were generated (written in UTC). */
  date: Date;
  /** Until when apt trusts this Release file; must be after `date`. */
  validUntil: Date;
  /** Whether to announce `Acquire-By-Hash: yes` (default true). */
  acquireByHash?: boolean;
}

/** Options that would make an invalid Release file. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number): string => String(n).padStart(2, "0");

/**
 * A date in the RFC 2822 form that apt writes and reads in Release files,
 * always in UTC, to the second: `Sat, 22 Nov 2026 14:00:00 UTC`.
 *
 * @throws {ReleaseError} on an invalid date
 * @example
 * ```ts
 * releaseDate(new Date("2026-11-22T14:00:00.900Z")); // "Sun, 22 Nov 2026 14:00:00 UTC"
 * ```
 */
export function releaseDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new ReleaseError("Invalid Release date: not a date");
  return `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:` +
    `${two(date.getUTCSeconds())} UTC`;
}

/**
 * The Release text for `entries`: `Origin`, `Label`, `Suite`, `Codename`,
 * `Version`, `Date`, `Valid-Until`, `Acquire-By-Hash`, `Architectures`,
 * `Components`, `Description`, then the `MD5Sum`, `SHA1` and `SHA256`
 * sections with one ` <digest> <size> <path>` line per entry (size
 * right-aligned in 16 columns, as apt-ftparchive writes it), entries sorted by
 * path. Ends with `\n`; no line has trailing white space.
 *
 * @throws {ReleaseError} when a field is empty or holds a line break, a path
 *   is not relative or holds white space, `validUntil` is not after `date`, or
 *   a path is listed twice
 * @example
 * ```ts
 * releaseFile([{ path: "main/binary-amd64/Packages", bytes }], { origin: "Kiro", … });
 * ```
 */
export function releaseFile(entries: readonly ReleaseEntry[], options: ReleaseOptions): string {
  const single = (name: string, value: string, optional = false): string | undefined => {
    const v = value.trim();
    if (v === "" && optional) return undefined;
    if (v === "" || /[\r\n]/.test(v)) {
      throw new ReleaseError(
        `Invalid Release ${name} ${JSON.stringify(value)}: it must be one non-empty line`,
      );
    }
    return `${name}: ${v}`;
  };
  const list = (name: string, values: readonly string[]): string => {
    if (values.length === 0 || values.some((v) => !/^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(v))) {
      throw new ReleaseError(
        `Invalid Release ${name} ${JSON.stringify(values)}: give at least one, each without spaces`,
      );
    }
    return `${name}: ${values.join(" ")}`;
  };
  if (!(options.validUntil.getTime() > options.date.getTime())) {
    throw new ReleaseError(
      `Invalid Release Valid-Until ${options.validUntil.toISOString()}: it must be after Date ` +
        `${options.date.toISOString()}`,
    );
  }
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 0; i < sorted.length; i++) {
    const path = sorted[i]!.path;
    if (path === "" || path.startsWith("/") || /\s/.test(path) || path.split("/").includes("..")) {
      throw new ReleaseError(
        `Invalid Release entry ${JSON.stringify(path)}: use a path relative to dists/{suite}/`,
      );
    }
    if (i > 0 && sorted[i - 1]!.path === path) {
      throw new ReleaseError(`Invalid Release entries: ${path} is listed twice`);
    }
  }
  const lines = [
    single("Origin", options.origin),
    single("Label", options.label),
    single("Suite", options.suite),
    single("Codename", options.codename),
    single("Version", options.version, true),
    `Date: ${releaseDate(options.date)}`,
    `Valid-Until: ${releaseDate(options.validUntil)}`,
    options.acquireByHash === false ? undefined : "Acquire-By-Hash: yes",
    list("Architectures", options.architectures),
    list("Components", options.components),
    single("Description", options.description, true),
  ].filter((l): l is string => l !== undefined);

  const digests = sorted.map((e) => ({
    path: e.path,
    size: String(e.bytes.byteLength).padStart(16),
    ...(e.digests ?? fileDigests(e.bytes)),
  }));
  for (
    const [section, key] of [["MD5Sum", "md5"], ["SHA1", "sha1"], ["SHA256", "sha256"]] as const
  ) {
    lines.push(`${section}:`);
    for (const d of digests) lines.push(` ${d[key]} ${d.size} ${d.path}`);
  }
  return lines.join("\n") + "\n";
}
