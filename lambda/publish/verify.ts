/**
 * Verifying a published repository against the packages table:
 *
 * - every record's pool object exists with the record's size and hash;
 * - the Release is what the records give, generated with the live Release's
 *   own `Date` and `Valid-Until` (so only the records decide): the same fields,
 *   the same files listed, the same checksums of the uncompressed indexes;
 * - every index file matches its Release line (size, MD5, SHA1, SHA256: what
 *   apt checks), has the content the records give once decompressed (gzip's
 *   bytes differ between Node, where the Lambda publishes, and Deno, where
 *   this runs; the text may not), and has its by-hash copy;
 * - `InRelease` and `Release.gpg` carry valid signatures by the keys in the
 *   published keyring, and `InRelease` signs exactly `Release`;
 * - `Valid-Until` has not passed (a warning when it is near);
 * - `kiro-repo.deb` is the latest kiro-repo; `index.html` is there.
 *
 * @module
 */

import * as openpgp from "openpgp";
import type { PackageRecord } from "../domain/package_record.ts";
import { parseControl } from "../deb/control.ts";
import { decompress, DecompressionError } from "../deb/decompress.ts";
import { hashBytes } from "../deb/hashing.ts";
import { splitClearsigned } from "../signing/clearsigned.ts";
import { KEYRING_NAME } from "./index_html.ts";
import { mapLimit } from "./limit.ts";
import { type ObjectStore, sha256Hex } from "./object_store.ts";
import { type PoolCheckStrategy, verifyPool, verifyPoolContents } from "./pool_check.ts";
import {
  generateRepositoryIndexes,
  INDEX_HTML_KEY,
  KIRO_REPO_DEB_KEY,
  KIRO_REPO_PACKAGE,
  latestRecord,
  type RepositoryLayoutOptions,
} from "./publisher.ts";
import { releaseDateOf, releaseValidUntilOf } from "./release_date.ts";

/** Options of {@linkcode verifyRepository}. */
export interface VerifyOptions extends RepositoryLayoutOptions {
  objects: ObjectStore;
  /** The keyring to check signatures with (default: the published one). */
  keyring?: Uint8Array;
  /** The current time. Default: now. */
  now?: Date;
  /** Warn when `Valid-Until` is closer than this many days. Default 2. */
  validUntilWarningDays?: number;
  concurrency?: number;
  /** How the pool objects are checked (default `list`). */
  poolCheck?: PoolCheckStrategy;
  /** Also read every pool object in full and hash it (one download per record). */
  deep?: boolean;
  /** Told what is being checked. */
  onProgress?: (message: string) => void;
}

/** What {@linkcode verifyRepository} found. */
export interface VerifyReport {
  /** Everything that is wrong (empty: the repository is good). */
  problems: string[];
  /** Things to look at that are not wrong yet. */
  warnings: string[];
  /** How much was checked. */
  checked: { records: number; indexFiles: number; signatures: number };
}

/** Checks the published repository against `records` (see the module docs). */
export async function verifyRepository(
  records: readonly PackageRecord[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const objects = options.objects;
  const distribution = options.distribution ?? "stable";
  const component = options.component ?? "main";
  const now = options.now ?? new Date();
  const progress = options.onProgress ?? (() => {});
  const concurrency = options.concurrency ?? 16;
  const problems: string[] = [];
  const warnings: string[] = [];
  const checked = { records: records.length, indexFiles: 0, signatures: 0 };
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const dists = `dists/${distribution}/`;

  progress(`Checking the pool objects of ${records.length} records`);
  problems.push(
    ...await verifyPool(records, objects, {
      concurrency,
      ...(options.poolCheck === undefined ? {} : { strategy: options.poolCheck }),
    }),
  );

  if (options.deep === true) {
    progress(`Reading and hashing the ${records.length} pool objects in full`);
    const seen = new Set(problems);
    for (const problem of await verifyPoolContents(records, objects)) {
      if (!seen.has(problem)) problems.push(problem);
    }
  }

  progress("Reading the live Release files");
  const [releaseBytes, inReleaseBytes, releaseGpgBytes, publishedKeyring] = await Promise.all([
    objects.get(`${dists}Release`),
    objects.get(`${dists}InRelease`),
    objects.get(`${dists}Release.gpg`),
    objects.get(KEYRING_NAME),
  ]);
  if (releaseBytes === undefined) {
    problems.push(
      `${dists}Release is missing: the repository was never published (deno task rebuild)`,
    );
    return { problems, warnings, checked };
  }
  const release = decode(releaseBytes);
  const date = releaseDateOf(release);
  const validUntil = releaseValidUntilOf(release);
  if (date === undefined || validUntil === undefined) {
    problems.push(`${dists}Release has no readable Date or Valid-Until`);
    return { problems, warnings, checked };
  }
  if (validUntil.getTime() <= now.getTime()) {
    problems.push(
      `${dists}Release expired at ${validUntil.toISOString()} (Valid-Until): apt refuses it; ` +
        "run deno task rebuild to re-sign",
    );
  } else if (
    validUntil.getTime() - now.getTime() < (options.validUntilWarningDays ?? 2) * 86_400_000
  ) {
    warnings.push(`${dists}Release expires soon, at ${validUntil.toISOString()}`);
  }
  if (date.getTime() > now.getTime() + 60_000) {
    problems.push(`${dists}Release is dated in the future (${date.toISOString()}): apt ignores it`);
  }

  progress("Regenerating the indexes from the records");
  let generated;
  try {
    generated = await generateRepositoryIndexes(records, {
      date,
      validUntil,
      distribution,
      component,
      ...(options.architectures === undefined ? {} : { architectures: options.architectures }),
      ...(options.releaseFields === undefined ? {} : { releaseFields: options.releaseFields }),
    });
  } catch (error) {
    problems.push(
      `Cannot generate the indexes from the records: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return { problems, warnings, checked };
  }
  problems.push(...compareReleases(release, generated.release, dists));
  const live = releaseChecksums(release);
  const uncompressed = new Map(
    generated.files.filter((file) => file.kind === "index").map((file) => [file.path, file]),
  );
  const canonical = generated.files.filter((file) => file.kind === "index");
  progress(`Comparing ${canonical.length} index files and their by-hash copies`);
  const fileProblems = await mapLimit(canonical, concurrency, async (file) => {
    const found: string[] = [];
    const stored = await objects.get(file.path);
    if (stored === undefined) return [`${file.path} is missing: run deno task rebuild`];
    const line = live.get(file.canonicalName);
    if (line === undefined) return found; // compareReleases reported the missing line
    const digests = hashBytes(stored);
    if (
      digests.size !== line.size || digests.md5 !== line.md5 || digests.sha1 !== line.sha1 ||
      digests.sha256 !== line.sha256
    ) {
      found.push(
        `${file.path} does not match its line in ${dists}Release (apt reports a Hash Sum ` +
          `mismatch): run deno task rebuild`,
      );
    }
    // The content, whatever compressor wrote it: gzip's bytes differ between Node (the
    // Lambda) and Deno (this task), the uncompressed text must not.
    const expected = uncompressed.get(file.path.replace(/\.(gz|xz)$/, ""))?.bytes;
    const compression = file.path.endsWith(".gz")
      ? "gzip"
      : file.path.endsWith(".xz")
      ? "xz"
      : "none";
    let content: Uint8Array | undefined;
    try {
      content = await decompress(stored, compression, {
        name: file.path,
        maxBytes: (expected?.byteLength ?? 0) + 1,
      });
    } catch (error) {
      if (!(error instanceof DecompressionError)) throw error;
    }
    if (expected === undefined || content === undefined || !sameBytes(content, expected)) {
      found.push(
        `${file.path} differs from what the records give (${
          content === undefined ? "not readable" : `${content.byteLength} bytes`
        } of ${compression === "none" ? "text" : `${compression} content`}, expected ${
          expected?.byteLength ?? 0
        }): run deno task rebuild`,
      );
    }
    const byHashKey = `${
      file.path.slice(0, file.path.lastIndexOf("/"))
    }/by-hash/SHA256/${line.sha256}`;
    const copy = await objects.get(byHashKey);
    if (copy === undefined) {
      found.push(`${byHashKey} is missing: apt fetches indexes by hash; run deno task rebuild`);
    } else if (sha256Hex(copy) !== line.sha256) {
      found.push(`${byHashKey} does not have the SHA-256 its name says`);
    }
    return found;
  });
  checked.indexFiles = canonical.length * 2;
  problems.push(...fileProblems.flat());

  progress("Checking the signatures");
  const keyringBytes = options.keyring ?? publishedKeyring;
  if (publishedKeyring === undefined) problems.push(`${KEYRING_NAME} is missing`);
  if (keyringBytes === undefined) {
    problems.push("No keyring to check the signatures with");
  } else {
    let keys: openpgp.Key[] = [];
    try {
      keys = await openpgp.readKeys({ binaryKeys: keyringBytes });
    } catch (error) {
      problems.push(
        `Cannot read the keyring ${KEYRING_NAME}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (keys.length > 0) {
      if (inReleaseBytes === undefined) {
        problems.push(`${dists}InRelease is missing`);
      } else {
        const result = await checkInRelease(decode(inReleaseBytes), release, keys, dists);
        problems.push(...result.problems);
        checked.signatures += result.signatures;
      }
      if (releaseGpgBytes === undefined) {
        problems.push(`${dists}Release.gpg is missing`);
      } else {
        const result = await checkDetached(releaseBytes, decode(releaseGpgBytes), keys, dists);
        problems.push(...result.problems);
        checked.signatures += result.signatures;
      }
    }
  }

  progress("Checking kiro-repo.deb and index.html");
  const kiroRepo = latestRecord(records, KIRO_REPO_PACKAGE);
  if (kiroRepo !== undefined) {
    const copy = await objects.head(KIRO_REPO_DEB_KEY);
    if (copy === undefined) problems.push(`${KIRO_REPO_DEB_KEY} is missing`);
    else if (copy.sha256 !== kiroRepo.sha256_hash || copy.size !== kiroRepo.file_size) {
      problems.push(
        `${KIRO_REPO_DEB_KEY} is not kiro-repo ${kiroRepo.version} (the latest): run deno task rebuild`,
      );
    }
  }
  if (await objects.head(INDEX_HTML_KEY) === undefined) {
    problems.push(`${INDEX_HTML_KEY} is missing`);
  }
  return { problems, warnings, checked };
}

/** A `Release` checksum line's values for one file. */
interface ReleaseLine {
  size: number;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

const SUM_FIELDS: Readonly<Record<string, "md5" | "sha1" | "sha256">> = {
  MD5Sum: "md5",
  SHA1: "sha1",
  SHA256: "sha256",
};

/** The `Release` text's fields other than the checksum lists. */
function releaseHeader(release: string): Map<string, string> {
  const header = new Map<string, string>();
  for (const [name, value] of Object.entries(parseControl(release, { source: "Release" }))) {
    if (!(name in SUM_FIELDS)) header.set(name, value);
  }
  return header;
}

/** The checksum lines of a `Release`, by file name (relative to `dists/{suite}/`). */
function releaseChecksums(release: string): Map<string, ReleaseLine> {
  const lines = new Map<string, ReleaseLine>();
  for (const [name, value] of Object.entries(parseControl(release, { source: "Release" }))) {
    const kind = SUM_FIELDS[name];
    if (kind === undefined) continue;
    for (const row of value.split("\n")) {
      const [hash, size, path] = row.trim().split(/\s+/);
      if (hash === undefined || size === undefined || path === undefined) continue;
      const line = lines.get(path) ?? { size: Number(size) };
      line[kind] = hash;
      lines.set(path, line);
    }
  }
  return lines;
}

/**
 * Compares the live `Release` with the one the records give: every field but the
 * checksums must be equal, the same files must be listed, and the uncompressed
 * indexes must have the same checksums. (A compressed index's checksums depend
 * on the compressor, so the caller checks those against the stored files.)
 */
function compareReleases(live: string, expected: string, dists: string): string[] {
  const problems: string[] = [];
  const liveHeader = releaseHeader(live);
  const expectedHeader = releaseHeader(expected);
  for (const name of new Set([...liveHeader.keys(), ...expectedHeader.keys()])) {
    const got = liveHeader.get(name);
    const want = expectedHeader.get(name);
    if (got !== want) {
      problems.push(
        `${dists}Release differs from what the records give: ${name} is ${
          got === undefined ? "missing" : `"${got}"`
        }, expected ${want === undefined ? "no such field" : `"${want}"`}: run deno task rebuild`,
      );
    }
  }
  const liveLines = releaseChecksums(live);
  const expectedLines = releaseChecksums(expected);
  for (const [path, want] of expectedLines) {
    const got = liveLines.get(path);
    if (got === undefined) {
      problems.push(
        `${dists}Release differs from what the records give: it does not list ${path}: ` +
          "run deno task rebuild",
      );
    } else if (
      !/\.(gz|xz)$/.test(path) &&
      (got.size !== want.size || got.md5 !== want.md5 || got.sha1 !== want.sha1 ||
        got.sha256 !== want.sha256)
    ) {
      problems.push(
        `${dists}Release differs from what the records give: the checksums of ${path}: ` +
          "run deno task rebuild",
      );
    }
  }
  for (const path of liveLines.keys()) {
    if (!expectedLines.has(path)) {
      problems.push(
        `${dists}Release differs from what the records give: it lists ${path}, which the ` +
          "records do not give: run deno task rebuild",
      );
    }
  }
  return problems;
}

async function checkInRelease(
  inRelease: string,
  release: string,
  keys: openpgp.Key[],
  dists: string,
): Promise<{ problems: string[]; signatures: number }> {
  let parts;
  try {
    parts = splitClearsigned(inRelease, { name: `${dists}InRelease` });
  } catch (error) {
    return { problems: [error instanceof Error ? error.message : String(error)], signatures: 0 };
  }
  const problems: string[] = [];
  if (`${parts.text}\n` !== release) {
    problems.push(`${dists}InRelease does not sign the same text as ${dists}Release`);
  }
  try {
    const message = await openpgp.createMessage({ text: parts.text });
    const signature = await openpgp.readSignature({ armoredSignature: parts.signature });
    const outcome = await checkSignatures(message, signature, keys, `${dists}InRelease`);
    problems.push(...outcome.problems);
    return { problems, signatures: outcome.signatures };
  } catch (error) {
    problems.push(
      `Cannot check ${dists}InRelease: ${error instanceof Error ? error.message : String(error)}`,
    );
    return { problems, signatures: 0 };
  }
}

async function checkDetached(
  release: Uint8Array,
  armored: string,
  keys: openpgp.Key[],
  dists: string,
): Promise<{ problems: string[]; signatures: number }> {
  try {
    const message = await openpgp.createMessage({ binary: release });
    const signature = await openpgp.readSignature({ armoredSignature: armored });
    return await checkSignatures(message, signature, keys, `${dists}Release.gpg`);
  } catch (error) {
    return {
      problems: [
        `Cannot check ${dists}Release.gpg: ${
          error instanceof Error ? error.message : String(error)
        }`,
      ],
      signatures: 0,
    };
  }
}

async function checkSignatures(
  message: openpgp.Message<string | Uint8Array>,
  signature: openpgp.Signature,
  keys: openpgp.Key[],
  what: string,
): Promise<{ problems: string[]; signatures: number }> {
  const result = await openpgp.verify({ message, signature, verificationKeys: keys });
  const problems: string[] = [];
  if (result.signatures.length === 0) problems.push(`${what} carries no signature`);
  for (const entry of result.signatures) {
    try {
      await entry.verified;
    } catch (error) {
      problems.push(
        `${what} has a signature by key ${entry.keyID.toHex().toUpperCase()} that does not ` +
          `verify with the published keyring: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  return { problems, signatures: result.signatures.length };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
