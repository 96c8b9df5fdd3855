/**
 * The `Release` file of a suite: what apt reads first, and the only file that
 * is signed. It names the suite and lists every index file under
 * `dists/{suite}/` with its size and MD5, SHA-1 and SHA-256 digests, so that
 * apt can check each index it downloads.
 *
 * {@linkcode releaseFile} writes it; {@linkcode parseRelease} reads one back
 * (a live Release, or one fetched as apt would): the one reader of Release
 * text, so that what the writer writes the reader reads back exactly.
 *
 * @module
 */

import { isValidFieldName } from "../deb/control.ts";
import { md5Hex, sha1Hex, sha256Hex } from "../hashing.ts";

/** An index file to list in the Release file. */
export type ReleaseEntry = {
  /** The path relative to `dists/{suite}/`, e.g. `main/binary-amd64/Packages.gz`. */
  path: string;
  bytes: Uint8Array;
  /** The digests of `bytes`, when the caller has them already (they are not checked). */
  digests?: FileDigests;
} | {
  path: string;
  /** A file that is not in hand (a live one, listed again): its size and digests. */
  size: number;
  digests: FileDigests;
};

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
    md5: md5Hex(bytes),
    sha1: sha1Hex(bytes),
    sha256: sha256Hex(bytes),
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

  const digests = sorted.map((e) => {
    const { md5, sha1, sha256 } = "bytes" in e ? e.digests ?? fileDigests(e.bytes) : e.digests;
    const size = "bytes" in e ? e.bytes.byteLength : e.size;
    return { path: e.path, size: String(size).padStart(16), md5, sha1, sha256 };
  });
  for (
    const [section, key] of [["MD5Sum", "md5"], ["SHA1", "sha1"], ["SHA256", "sha256"]] as const
  ) {
    lines.push(`${section}:`);
    for (const d of digests) lines.push(` ${d[key]} ${d.size} ${d.path}`);
  }
  return lines.join("\n") + "\n";
}

/** What a Release lists for one file: its size and the digests its sections give. */
export interface ReleaseFileLine {
  /** The size of the first line listing the file (`NaN` when not a number). */
  size: number;
  /** From the `MD5Sum` section. */
  md5?: string;
  /** From the `SHA1` section. */
  sha1?: string;
  /** From the `SHA256` section. */
  sha256?: string;
}

/** What {@linkcode parseRelease} reads from a Release text. */
export interface ParsedRelease {
  /**
   * Every field but the checksum sections (`Origin`, `Suite`, `Date`,
   * `Architectures`, …), named as written, in the order written. A value is
   * its first line without the white space around it, then each continuation
   * line as written (trailing white space dropped), joined with `\n` (the
   * representation of `lambda/deb/control.ts`).
   */
  fields: Map<string, string>;
  /** `Date`, when it is there and readable. */
  date?: Date;
  /** `Valid-Until`, when it is there and readable. */
  validUntil?: Date;
  /** The words of `Architectures` (empty when it is missing). */
  architectures: string[];
  /** The words of `Components` (empty when it is missing). */
  components: string[];
  /**
   * The files of the `MD5Sum`, `SHA1` and `SHA256` sections, by path
   * relative to `dists/{suite}/`, in the order first listed.
   */
  files: Map<string, ReleaseFileLine>;
  /**
   * Why the text is not one well-formed deb822 paragraph (`line N: …`), in
   * the order met; empty when it is. What could be read is read anyway.
   */
  problems: string[];
}

const SUM_SECTIONS: ReadonlyMap<string, "md5" | "sha1" | "sha256"> = new Map([
  ["MD5Sum", "md5"],
  ["SHA1", "sha1"],
  ["SHA256", "sha256"],
]);

/**
 * Reads a Release text (what {@linkcode releaseFile} writes, or any suite's
 * `Release`): its fields, its `Date` and `Valid-Until`, and the files its
 * checksum sections list. Tolerant: a missing or unreadable field is
 * `undefined`, a checksum line with fewer than three words is skipped, the
 * first of a field given twice is kept, and what breaks deb822 is told in
 * `problems`; it never throws for the content.
 *
 * @example
 * ```ts
 * const release = parseRelease(releaseFile(entries, options));
 * release.validUntil; // options.validUntil, to the second
 * release.files.get("main/binary-amd64/Packages")?.sha256;
 * ```
 */
export function parseRelease(text: string): ParsedRelease {
  const fields = new Map<string, string>();
  const files = new Map<string, ReleaseFileLine>();
  const problems: string[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  let field: { name: string; parts: string[] } | undefined;
  let section: "md5" | "sha1" | "sha256" | undefined;
  // After a line that is not a field (or repeats one), its continuation lines are skipped.
  let skipping = false;
  let started = false;
  let blankAt = 0;
  const finish = () => {
    if (field !== undefined) fields.set(field.name, field.parts.join("\n"));
    field = undefined;
  };
  const row = (kind: "md5" | "sha1" | "sha256", value: string) => {
    const [hash, size, path] = value.trim().split(/\s+/);
    if (hash === undefined || size === undefined || path === undefined) return;
    const line = files.get(path) ?? { size: Number(size) };
    line[kind] = hash;
    files.set(path, line);
  };
  for (const [index, raw] of lines.entries()) {
    const at = `line ${index + 1}`;
    const line = raw.replace(/[ \t\r]+$/, "");
    if (line === "") {
      if (raw !== "") problems.push(`${at}: a line of only white space`);
      else if (started && blankAt === 0) blankAt = index + 1;
      continue;
    }
    if (blankAt > 0) {
      problems.push(`line ${blankAt}: an empty line inside the paragraph`);
      blankAt = -1;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (section !== undefined) row(section, line);
      else if (field !== undefined) field.parts.push(line);
      else if (!skipping) {
        problems.push(`${at}: a continuation line before any field`);
        skipping = true;
      }
      continue;
    }
    started = true;
    finish();
    section = undefined;
    skipping = true;
    const colon = line.indexOf(":");
    const name = (colon < 0 ? line : line.slice(0, colon)).replace(/[ \t]+$/, "");
    if (colon < 0 || !isValidFieldName(name)) {
      problems.push(`${at}: ${JSON.stringify(line.slice(0, 60))} is not a field (Name: value)`);
      continue;
    }
    if (seen.has(name.toLowerCase())) {
      problems.push(`${at}: field ${name} is given twice`);
      continue;
    }
    seen.add(name.toLowerCase());
    skipping = false;
    const value = line.slice(colon + 1).replace(/^[ \t]+/, "");
    const kind = SUM_SECTIONS.get(name);
    if (kind === undefined) {
      field = { name, parts: [value] };
    } else {
      section = kind;
      if (value !== "") row(kind, value);
    }
  }
  finish();
  if (!started && problems.length === 0) problems.push("the text is empty");
  const dateOf = (name: string): Date | undefined => {
    const value = fields.get(name)?.split("\n", 1)[0];
    const time = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(time) ? undefined : new Date(time);
  };
  const words = (name: string): string[] =>
    (fields.get(name) ?? "").split(/\s+/).filter((word) => word !== "");
  const date = dateOf("Date");
  const validUntil = dateOf("Valid-Until");
  return {
    fields,
    ...(date === undefined ? {} : { date }),
    ...(validUntil === undefined ? {} : { validUntil }),
    architectures: words("Architectures"),
    components: words("Components"),
    files,
    problems,
  };
}
