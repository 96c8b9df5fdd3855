/**
 * Every file under `dists/{suite}/` for a set of package records: per
 * component and architecture `Packages`, `Packages.gz`, `Packages.xz` and
 * their `by-hash/SHA256/<hex>` copies, and the (unsigned) `Release` text.
 *
 * The output is a pure function of the records (as a set) and the options:
 * records are sorted by package name, then dpkg version, then architecture
 * (then version text and SHA-256, to break ties), so the same table contents
 * always give the same bytes whatever order the store returns them in.
 *
 * Rules:
 * - every version of every package is listed (a repository keeps history);
 * - `Architecture: all` records appear in every architecture's `Packages`;
 * - a record whose architecture is not one of `architectures` (nor `all`) is
 *   left out and returned in `skipped` with the reason — one stray upload must
 *   not stop the rebuild of everything else — unless `strict` is set, which
 *   makes it an error;
 * - two records for the same package, architecture and version (dpkg-equal,
 *   e.g. `1.0` and `1.0-0`) are an error when their files differ, and listed
 *   once when they are the same file;
 * - all records go to the first component (`main`): the records carry no
 *   component, and the pool is `pool/main/`.
 *
 * @module
 */

import { setImmediate } from "node:timers/promises";
import type { PackageRecord } from "../domain/package_record.ts";
import {
  compareParsedVersions,
  compareVersions,
  type ParsedVersion,
  parseVersion,
} from "../domain/version.ts";
import { gzip, GZIP_LEVEL, xzCompress } from "./compress.ts";
export { DEFAULT_XZ_PRESET } from "./compress.ts";
import { type FileDigests, fileDigests, releaseFile } from "./release.ts";
import { IndexText } from "./index_text.ts";
import { packagesStanza } from "./stanza.ts";

/** What the repository is called and for how long its Release is valid. */
export interface IndexOptions {
  /** The suite, and the folder under `dists/` (`stable`). */
  suite: string;
  codename: string;
  /** Default `["main"]`. Every record goes to the first one. */
  components?: readonly string[];
  /** The binary architectures (`["amd64", "arm64"]`); never `all`. */
  architectures: readonly string[];
  origin: string;
  label: string;
  description: string;
  /** The repository's version for the Release file; `""` leaves it out. */
  version: string;
  date: Date;
  validUntil: Date;
  /** The xz preset of `Packages.xz` (default `DEFAULT_XZ_PRESET`, 4). */
  xzPreset?: number;
  /** Refuse (rather than skip) records of an architecture not listed. */
  strict?: boolean;
  /**
   * The compressed variants to write besides `Packages` (default both). apt
   * fetches one variant of each index (xz when listed, in its default configuration).
   */
  compression?: readonly ("gzip" | "xz")[];
  /**
   * Files known to be live, as the live Release lists them (path relative to
   * `dists/{suite}/`), whose objects the caller has checked are there. An
   * index directory whose new `Packages` has the SHA-256 and size its live
   * line gives is the same text, so its live compressed variants are its
   * compression: they are listed again (`reused`) instead of compressed.
   */
  live?: ReadonlyMap<string, { size: number; md5?: string; sha1?: string; sha256?: string }>;
}

/** A file listed in the Release as it is live, not generated again (see `live`). */
export interface ReusedIndexFile {
  /** The key from the repository root. */
  path: string;
  kind: IndexFileKind;
  sha256: string;
  size: number;
  canonicalName: string;
}

/** What a generated file is. */
export type IndexFileKind = "index" | "by-hash";

/** One generated file under `dists/`. */
export interface IndexFile {
  /** The key from the repository root, e.g. `dists/stable/main/binary-amd64/Packages.gz`. */
  path: string;
  bytes: Uint8Array;
  /** `index`: a canonical name; `by-hash`: the content-addressed copy of one. */
  kind: IndexFileKind;
  /** Hex SHA-256 of `bytes`. */
  sha256: string;
  /** The canonical name (relative to `dists/{suite}/`) that this file is, or is a copy of. */
  canonicalName: string;
}

/** A record that was left out, and why. */
export interface SkippedRecord {
  record: PackageRecord;
  reason: string;
}

/** The result of {@linkcode generateIndexes}. */
export interface GeneratedIndexes {
  /**
   * Every index file: for each component and architecture, `Packages`,
   * `Packages.gz`, `Packages.xz`, each followed by its by-hash copy. The
   * Release file is not in this list (see `release`).
   */
  files: IndexFile[];
  /** The compressed files (and by-hash copies) listed as live rather than generated. */
  reused: ReusedIndexFile[];
  /** The Release text (unsigned), listing every `kind: "index"` file. */
  release: string;
  /** Where the Release file goes: `dists/{suite}/Release`. */
  releasePath: string;
  /** Stanzas per architecture. */
  counts: Record<string, number>;
  skipped: SkippedRecord[];
  /**
   * Milliseconds: `stanzas`, sorting the records and writing, encoding and
   * hashing every `Packages` text (a large text with no live line is gzipped
   * meanwhile, on another thread); `compress`, wall time from the end of the
   * texts until every compressed file is done and hashed; `gzip` and `xz`,
   * from each compression's start (for a file gzipped while written, from
   * the end of its text) to its end, summed over the files (they overlap);
   * `release`, listing the files and writing the Release text.
   */
  timings: { stanzas: number; compress: number; gzip: number; xz: number; release: number };
}

/** Records or options from which no consistent repository can be made. */
export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IndexError";
  }
}

const NAME = /^[a-z0-9][a-z0-9.+-]*$/;
/** Records written between two turns of the event loop while texts are gzipped as written. */
const YIELD_EVERY = 128;

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of records in a `Packages` file: name, dpkg version, architecture, then ties. */
export function compareRecords(a: PackageRecord, b: PackageRecord): number {
  return byteCompare(a.package_name, b.package_name) ||
    compareVersions(a.version, b.version) ||
    byteCompare(a.architecture, b.architecture) ||
    byteCompare(a.version, b.version) ||
    byteCompare(a.sha256_hash, b.sha256_hash);
}

/**
 * Generates every index file of `records` for the suite in `options`.
 *
 * @throws {IndexError} on invalid options, conflicting duplicate records, or
 *   (with `strict`) a record of an architecture that is not listed
 * @throws {import("./stanza.ts").StanzaError} on a record that cannot make a stanza
 * @example
 * ```ts
 * const { files, release } = await generateIndexes(records, {
 *   suite: "stable", codename: "stable", architectures: ["amd64", "arm64"],
 *   origin: "Kiro", label: "Kiro", description: "Kiro packages", version: "1.0",
 *   date: now, validUntil: new Date(now.getTime() + 7 * 86400e3),
 * });
 * ```
 */
export async function generateIndexes(
  records: readonly PackageRecord[],
  options: IndexOptions,
): Promise<GeneratedIndexes> {
  const suite = options.suite;
  if (!NAME.test(suite)) {
    throw new IndexError(
      `Invalid suite ${JSON.stringify(suite)}: use lowercase letters, digits, ".", "+", "-"`,
    );
  }
  const components = [...new Set(options.components ?? ["main"])];
  const architectures = [...new Set(options.architectures)].sort(byteCompare);
  for (const name of [...components, ...architectures]) {
    if (!NAME.test(name)) {
      throw new IndexError(`Invalid component or architecture ${JSON.stringify(name)}`);
    }
  }
  if (components.length === 0 || architectures.length === 0) {
    throw new IndexError(
      "Cannot generate indexes: give at least one component and one architecture",
    );
  }
  if (architectures.includes("all")) {
    throw new IndexError(
      'Invalid architectures: "all" is not a binary architecture; all-architecture packages ' +
        "are listed in every architecture's Packages",
    );
  }

  const timings = { stanzas: 0, compress: 0, gzip: 0, xz: 0, release: 0 };
  let t = performance.now();
  const archSet = new Set(architectures);
  const skipped: SkippedRecord[] = [];
  const kept: PackageRecord[] = [];
  for (const record of records) {
    if (record.architecture === "all" || archSet.has(record.architecture)) {
      kept.push(record);
      continue;
    }
    const reason = `architecture ${JSON.stringify(record.architecture)} is not one of ` +
      `${architectures.join(", ")}`;
    if (options.strict) {
      throw new IndexError(`Cannot index ${record.package_name} ${record.version}: ${reason}`);
    }
    skipped.push({ record, reason });
  }
  const parsed = new Map<string, ParsedVersion>();
  const versionOf = (v: string): ParsedVersion => {
    let p = parsed.get(v);
    if (p === undefined) {
      p = parseVersion(v);
      parsed.set(v, p);
    }
    return p;
  };
  kept.sort((a, b) =>
    byteCompare(a.package_name, b.package_name) ||
    compareParsedVersions(versionOf(a.version), versionOf(b.version)) ||
    byteCompare(a.architecture, b.architecture) ||
    byteCompare(a.version, b.version) ||
    byteCompare(a.sha256_hash, b.sha256_hash)
  );

  // One stanza per distinct file; conflicting duplicates are refused.
  const unique: PackageRecord[] = [];
  for (const record of kept) {
    const previous = unique[unique.length - 1];
    if (
      previous !== undefined && previous.package_name === record.package_name &&
      previous.architecture === record.architecture &&
      compareParsedVersions(versionOf(previous.version), versionOf(record.version)) === 0
    ) {
      if (previous.sha256_hash === record.sha256_hash && previous.pool_key === record.pool_key) {
        continue;
      }
      throw new IndexError(
        `Conflicting records for ${record.package_name} ${record.architecture}: versions ` +
          `${previous.version} (${previous.pool_key}) and ${record.version} (${record.pool_key}) ` +
          `are the same version to apt but different files; withdraw one (deno task withdraw ` +
          `${record.package_name} VERSION --arch ${record.architecture} --reason TEXT)`,
      );
    }
    unique.push(record);
  }

  // Each stanza is written once (an `all` record appears in every
  // architecture's file) and added to each file it belongs in. A file that
  // cannot be the live one (no live line) is gzipped while it is written, on
  // another thread; the others are compared with their live lines first.
  const compression = new Set(options.compression ?? ["gzip", "xz"]);
  const component = components[0]!;
  const dirs: { dir: string; arch: string; text: IndexText }[] = [];
  for (const comp of components) {
    for (const arch of architectures) {
      const dir = `${comp}/binary-${arch}`;
      const streamed = compression.has("gzip") && options.live?.has(`${dir}/Packages`) !== true;
      const text = new IndexText(streamed ? { gzipLevel: GZIP_LEVEL } : {});
      dirs.push({ dir, arch, text });
    }
  }
  const counts: Record<string, number> = {};
  const own = new Map(
    dirs.filter((d) => d.dir.startsWith(`${component}/`)).map((d) => [d.arch, d]),
  );
  try {
    for (const d of own.values()) counts[d.arch] = 0;
    const streaming = dirs.some(({ text }) => text.compressing);
    for (const [i, record] of unique.entries()) {
      // Node's zlib stream takes its next slice only from the event loop.
      if (streaming && i % YIELD_EVERY === YIELD_EVERY - 1) await setImmediate();
      // Every stanza followed by a blank line.
      const stanza = packagesStanza(record) + "\n";
      const targets = record.architecture === "all"
        ? own.values()
        : [own.get(record.architecture)!];
      for (const d of targets) {
        d.text.add(stanza);
        counts[d.arch]!++;
      }
    }
  } catch (error) {
    for (const { text } of dirs) text.abort();
    throw error;
  }
  const plain = dirs.map(({ dir, text }) => ({ dir, ...text.finish() }));
  timings.stanzas = performance.now() - t;

  // Each remaining file's compression starts once its text is done. xz (both
  // runtimes) and gzip (Node's thread pool; a worker in Deno, for large
  // files) run off the main thread.
  t = performance.now();
  const xzOptions = options.xzPreset === undefined ? {} : { preset: options.xzPreset };
  const timed = (kind: "gzip" | "xz", start: () => Promise<Uint8Array>) => {
    const begin = performance.now();
    return start().then((bytes) => {
      timings[kind] += performance.now() - begin;
      return bytes;
    });
  };
  const suffixes = ([["gzip", ".gz"], ["xz", ".xz"]] as const)
    .filter(([kind]) => compression.has(kind)).map(([, suffix]) => suffix);
  const pending = plain.map(({ dir, bytes, digests, gz: streamedGz }) => {
    const { md5, sha1, sha256 } = digests;
    const live = liveIndex(options.live, dir, { sha256, size: bytes.byteLength, suffixes });
    const listed = { md5, sha1, sha256 };
    if (live !== undefined) {
      return { dir, bytes, digests: listed, live, gz: undefined, xz: undefined };
    }
    const gz = streamedGz === undefined
      ? compression.has("gzip") ? timed("gzip", () => gzip(bytes, { sha256 })) : undefined
      : timed("gzip", () => streamedGz);
    const xz = compression.has("xz")
      ? timed("xz", () => xzCompress(bytes, { ...xzOptions, sha256 }))
      : undefined;
    return { dir, bytes, digests: listed, live, gz, xz };
  });
  // Per directory: Packages, .gz, .xz. Each compressed file is hashed once:
  // its Release lines and its by-hash name share the digests.
  const packed = await Promise.all(pending.map(({ gz, xz }) => Promise.all([gz, xz])));
  type Entry =
    | { name: string; bytes: Uint8Array; digests: FileDigests }
    | { name: string; size: number; digests: FileDigests };
  const entries: Entry[] = [];
  for (const [i, { dir, bytes, digests, live }] of pending.entries()) {
    entries.push({ name: `${dir}/Packages`, bytes, digests });
    if (live !== undefined) {
      for (const [suffix, line] of live) {
        entries.push({ name: `${dir}/Packages${suffix}`, size: line.size, digests: line });
      }
      continue;
    }
    const [gz, xz] = packed[i]!;
    for (const [suffix, out] of [[".gz", gz], [".xz", xz]] as const) {
      if (out !== undefined) {
        entries.push({ name: `${dir}/Packages${suffix}`, bytes: out, digests: fileDigests(out) });
      }
    }
  }
  timings.compress = performance.now() - t;

  t = performance.now();
  const files: IndexFile[] = [];
  const reused: ReusedIndexFile[] = [];
  for (const entry of entries) {
    const { name, digests } = entry;
    const sha256 = digests.sha256;
    const dir = name.slice(0, name.lastIndexOf("/"));
    if (!("bytes" in entry)) {
      for (
        const [kind, path] of [["index", name], [
          "by-hash",
          `${dir}/by-hash/SHA256/${sha256}`,
        ]] as const
      ) {
        reused.push({
          path: `dists/${suite}/${path}`,
          kind,
          sha256,
          size: entry.size,
          canonicalName: name,
        });
      }
      continue;
    }
    const bytes = entry.bytes;
    files.push({
      path: `dists/${suite}/${name}`,
      bytes,
      kind: "index",
      sha256,
      canonicalName: name,
    });
    files.push({
      path: `dists/${suite}/${dir}/by-hash/SHA256/${sha256}`,
      bytes,
      kind: "by-hash",
      sha256,
      canonicalName: name,
    });
  }
  const release = releaseFile(
    entries.map((e) =>
      "bytes" in e
        ? { path: e.name, bytes: e.bytes, digests: e.digests }
        : { path: e.name, size: e.size, digests: e.digests }
    ),
    {
      origin: options.origin,
      label: options.label,
      suite,
      codename: options.codename,
      version: options.version,
      description: options.description,
      architectures,
      components,
      date: options.date,
      validUntil: options.validUntil,
      acquireByHash: true,
    },
  );
  timings.release = performance.now() - t;
  return {
    files,
    reused,
    release,
    releasePath: `dists/${suite}/Release`,
    counts,
    skipped,
    timings,
  };
}

/**
 * The live lines of each of `dir`'s compressed variants in `suffixes`, when
 * the live `Packages` is the same text (SHA-256 and size) and every variant
 * is listed with all its digests; otherwise `undefined` (the directory is
 * compressed again).
 */
function liveIndex(
  live: IndexOptions["live"],
  dir: string,
  expected: { sha256: string; size: number; suffixes: readonly string[] },
): [string, FileDigests & { size: number }][] | undefined {
  if (live === undefined) return undefined;
  const complete = (
    line: { size: number; md5?: string; sha1?: string; sha256?: string } | undefined,
  ) =>
    line !== undefined && Number.isSafeInteger(line.size) && line.md5 !== undefined &&
      line.sha1 !== undefined && line.sha256 !== undefined
      ? { size: line.size, md5: line.md5, sha1: line.sha1, sha256: line.sha256 }
      : undefined;
  const plain = complete(live.get(`${dir}/Packages`));
  if (plain === undefined || plain.sha256 !== expected.sha256 || plain.size !== expected.size) {
    return undefined;
  }
  const compressed: [string, FileDigests & { size: number }][] = [];
  for (const suffix of expected.suffixes) {
    const line = complete(live.get(`${dir}/Packages${suffix}`));
    if (line === undefined) return undefined;
    compressed.push([suffix, line]);
  }
  return compressed;
}
