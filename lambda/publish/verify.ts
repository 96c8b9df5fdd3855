/**
 * Verifying a published repository against the packages table:
 *
 * - every published record's pool object exists with the record's size and
 *   hash (a withdrawn record's object stays in the pool: missing, it is a
 *   warning);
 * - every object under `pool/` is some record's (published or withdrawn):
 *   the others are orphans, reported as warnings with the command that
 *   removes them;
 * - each channel's Release is what the records its index lists give
 *   (`channelIndex` in `lambda/domain/channels.ts`: withdrawn ones, other
 *   channels' and those retained out by `keep_versions` are not in it),
 *   generated with the live Release's
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

import { channelIndexes, DEFAULT_CHANNELS } from "../domain/channels.ts";
import { isPublished, type PackageRecord } from "../domain/package_record.ts";
import { decompress, DecompressionError } from "../deb/decompress.ts";
import { hashBytes, sha256Hex } from "../hashing.ts";
import { type ParsedRelease, parseRelease } from "../repo/release.ts";
import {
  type ReleaseSignatureFiles,
  type ReleaseSignatureReport,
  verifyReleaseSignatures,
} from "../signing/verify.ts";
import { KEYRING_NAME } from "./index_html.ts";
import { mapLimit } from "./limit.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import { type PoolCheckStrategy, verifyPool, verifyPoolContents } from "./pool_check.ts";
import {
  generateRepositoryIndexes,
  INDEX_HTML_KEY,
  KIRO_REPO_DEB_KEY,
  KIRO_REPO_PACKAGE,
  latestRecord,
  type RepositoryLayoutOptions,
} from "./publisher.ts";

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
  /** The repository bucket, to print the command that removes an orphan pool object. */
  bucket?: BucketLocation;
}

/** Where the repository bucket is, for the `aws` commands verify prints. */
export interface BucketLocation {
  /** The bucket's name. */
  name: string;
  /** Its region (`--region`). */
  region?: string;
  /**
   * An S3 stand-in's endpoint (`local`): the command gets `--endpoint-url` and
   * `--no-sign-request` (the stand-in serves unsigned requests).
   */
  endpointUrl?: string;
}

/** An object under `pool/` that no record names (published or withdrawn). */
export interface OrphanObject {
  key: string;
  size: number;
  /** When it was written (ISO 8601): a very recent one may be an upload about to be recorded. */
  lastModified: string;
  /** The command that removes it (absent when the bucket is not known). */
  removeCommand?: string;
}

/** What {@linkcode verifyRepository} found. */
export interface VerifyReport {
  /** Everything that is wrong (empty: the repository is good). */
  problems: string[];
  /** Things to look at that are not wrong yet (every orphan is one). */
  warnings: string[];
  /** Pool objects no record names (each also a warning). */
  orphans: OrphanObject[];
  /** How much was checked. */
  checked: { records: number; indexFiles: number; signatures: number };
}

/** Checks the published repository against `records` (see the module docs). */
export async function verifyRepository(
  records: readonly PackageRecord[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const objects = options.objects;
  const channels = options.channels ?? DEFAULT_CHANNELS;
  const component = options.component ?? "main";
  const now = options.now ?? new Date();
  const progress = options.onProgress ?? (() => {});
  const concurrency = options.concurrency ?? 16;
  const problems: string[] = [];
  const warnings: string[] = [];
  const orphans: OrphanObject[] = [];
  const checked = { records: records.length, indexFiles: 0, signatures: 0 };
  const report = () => ({ problems, warnings, orphans, checked });
  // Only what some channel's index lists must be in the pool; the others
  // (withdrawn, retained out, in no channel) keep their pool object until
  // prune-pool deletes it.
  const selections = channelIndexes(records, {
    channels,
    ...(options.keepVersions === undefined ? {} : { keepVersions: options.keepVersions }),
  });
  const indexedKeys = new Set(
    [...selections.values()].flatMap((selection) => selection.listed).map((r) => r.pool_key),
  );
  const published = records.filter((record) => indexedKeys.has(record.pool_key));
  const outOfIndexes = records.filter((record) =>
    !indexedKeys.has(record.pool_key) && record.pruned_at === undefined
  );

  progress(`Checking the pool objects of ${published.length} records in the indexes`);
  problems.push(
    ...await verifyPool(published, objects, {
      concurrency,
      ...(options.poolCheck === undefined ? {} : { strategy: options.poolCheck }),
    }),
  );
  for (const withdrawn of [true, false]) {
    const group = outOfIndexes.filter((record) => isPublished(record) !== withdrawn);
    if (group.length === 0) continue;
    const what = withdrawn ? "withdrawn" : "retained out or in no channel";
    progress(`Checking the pool objects of ${group.length} records ${what}`);
    for (const problem of await verifyPool(group, objects, { concurrency, strategy: "head" })) {
      warnings.push(
        `${withdrawn ? "Withdrawn" : "Out of every index"}: ${problem}: it cannot be published ` +
          "again until its .deb is uploaded again",
      );
    }
  }

  if (options.deep === true) {
    progress(`Reading and hashing the ${published.length} published pool objects in full`);
    const seen = new Set(problems);
    for (const problem of await verifyPoolContents(published, objects)) {
      if (!seen.has(problem)) problems.push(problem);
    }
  }

  progress("Looking for pool objects that no record names");
  const bucket = options.bucket === undefined ? {} : { bucket: options.bucket };
  orphans.push(...await findOrphans(records, objects, bucket));
  for (const orphan of orphans) warnings.push(orphanWarning(orphan));

  const publishedKeyring = await objects.get(KEYRING_NAME);
  const keyringBytes = options.keyring ?? publishedKeyring;
  if (publishedKeyring === undefined) problems.push(`${KEYRING_NAME} is missing`);
  for (const distribution of channels) {
    await verifyChannel(selections.get(distribution)?.listed ?? [], {
      objects,
      distribution,
      component,
      now,
      concurrency,
      keyringBytes,
      problems,
      warnings,
      checked,
      progress,
    }, options);
  }

  progress("Checking kiro-repo.deb and index.html");
  const kiroRepo = latestRecord(selections.get(channels[0] ?? "")?.listed ?? [], KIRO_REPO_PACKAGE);
  if (kiroRepo === undefined) {
    if (await objects.head(KIRO_REPO_DEB_KEY) !== undefined) {
      problems.push(
        `${KIRO_REPO_DEB_KEY} exists but no kiro-repo is published (withdrawn?): run deno task rebuild`,
      );
    }
  } else {
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
  return report();
}

/** What {@linkcode verifyChannel} adds its findings to. */
interface ChannelVerification {
  objects: ObjectStore;
  distribution: string;
  component: string;
  now: Date;
  concurrency: number;
  keyringBytes: Uint8Array | undefined;
  problems: string[];
  warnings: string[];
  checked: VerifyReport["checked"];
  progress: (message: string) => void;
}

/** Checks one channel's suite against the records its index lists. */
async function verifyChannel(
  listed: readonly PackageRecord[],
  state: ChannelVerification,
  options: VerifyOptions,
): Promise<void> {
  const { objects, distribution, component, now, concurrency, keyringBytes } = state;
  const { problems, warnings, checked, progress } = state;
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const dists = `dists/${distribution}/`;
  progress(`Reading the live Release files of ${distribution}`);
  const [releaseBytes, inReleaseBytes, releaseGpgBytes] = await Promise.all([
    objects.get(`${dists}Release`),
    objects.get(`${dists}InRelease`),
    objects.get(`${dists}Release.gpg`),
  ]);
  if (releaseBytes === undefined) {
    problems.push(
      `${dists}Release is missing: the repository was never published (deno task rebuild)`,
    );
    return;
  }
  const release = decode(releaseBytes);
  const liveRelease = parseRelease(release);
  const { date, validUntil } = liveRelease;
  if (date === undefined || validUntil === undefined) {
    problems.push(`${dists}Release has no readable Date or Valid-Until`);
    return;
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
  if (liveRelease.problems.length > 0) {
    problems.push(
      `${dists}Release is not readable: ${liveRelease.problems[0]}: run deno task rebuild`,
    );
  }

  progress(`Regenerating the indexes of ${distribution} from the records`);
  let generated;
  try {
    generated = await generateRepositoryIndexes(listed, {
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
    return;
  }
  problems.push(...compareReleases(liveRelease, parseRelease(generated.release), dists));
  const live = liveRelease.files;
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
  checked.indexFiles += canonical.length * 2;
  problems.push(...fileProblems.flat());

  progress(`Checking the signatures of ${distribution}`);
  if (keyringBytes === undefined) {
    problems.push("No keyring to check the signatures with");
  } else {
    const result = await checkReleaseSignatures(
      releaseBytes,
      { inRelease: inReleaseBytes, releaseGpg: releaseGpgBytes },
      { keyring: keyringBytes, distribution },
    );
    problems.push(...result.problems);
    checked.signatures += result.signatures;
  }
}

/**
 * Compares the live `Release` with the one the records give: every field but the
 * checksums must be equal, the same files must be listed, and the uncompressed
 * indexes must have the same checksums. (A compressed index's checksums depend
 * on the compressor, so the caller checks those against the stored files.)
 */
function compareReleases(live: ParsedRelease, expected: ParsedRelease, dists: string): string[] {
  const problems: string[] = [];
  const liveHeader = live.fields;
  const expectedHeader = expected.fields;
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
  const liveLines = live.files;
  const expectedLines = expected.files;
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

/** Options of {@linkcode checkReleaseSignatures}. */
export interface ReleaseSignatureOptions {
  /** The keyring (binary OpenPGP, as published at `KEYRING_NAME`) whose keys must have signed. */
  keyring: Uint8Array;
  /** The suite (names the files in the problems). Default `stable`. */
  distribution?: string;
}

/**
 * Checks the signatures of the published suite `options.distribution`
 * (`verifyReleaseSignatures` in `lambda/signing/verify.ts`, with the files
 * named under `dists/{suite}/` and the keyring as published): bad content is
 * a problem, never a throw.
 */
export async function checkReleaseSignatures(
  release: Uint8Array,
  signed: ReleaseSignatureFiles,
  options: ReleaseSignatureOptions,
): Promise<ReleaseSignatureReport> {
  return await verifyReleaseSignatures(release, signed, {
    keyring: options.keyring,
    directory: `dists/${options.distribution ?? "stable"}/`,
    keyringName: KEYRING_NAME,
  });
}

/** Options of {@linkcode findOrphans}. */
export interface FindOrphansOptions {
  /** The bucket, for each orphan's `removeCommand`. */
  bucket?: BucketLocation;
}

/**
 * The objects under `pool/` that no record names as its `pool_key`
 * (`records`: every record, published or withdrawn: a withdrawn record's
 * object stays). One listing of `pool/`; sorted by key.
 */
export async function findOrphans(
  records: readonly PackageRecord[],
  objects: ObjectStore,
  options: FindOrphansOptions = {},
): Promise<OrphanObject[]> {
  const named = new Set(records.map((record) => record.pool_key));
  const orphans: OrphanObject[] = [];
  for await (const object of objects.list("pool/")) {
    if (named.has(object.key)) continue;
    orphans.push({
      key: object.key,
      size: object.size,
      lastModified: object.lastModified.toISOString(),
      ...(options.bucket === undefined
        ? {}
        : { removeCommand: removeObjectCommand(object.key, options.bucket) }),
    });
  }
  return orphans.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The `aws` command that deletes `key` from `bucket`, quoted for a POSIX
 * shell, e.g. `aws s3 rm s3://kiro-debian-repo-manager-repo-dev/pool/main/k/kiro/kiro_1.0_amd64.deb --region us-east-1`.
 */
export function removeObjectCommand(key: string, bucket: BucketLocation): string {
  const words = ["aws", "s3", "rm", `s3://${bucket.name}/${key}`];
  if (bucket.region !== undefined) words.push("--region", bucket.region);
  if (bucket.endpointUrl !== undefined) {
    words.push("--endpoint-url", bucket.endpointUrl, "--no-sign-request");
  }
  return words.map(shellWord).join(" ");
}

/** `word` as one POSIX shell word: as is when it is plain, otherwise in single quotes. */
function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./:+@%,=-][A-Za-z0-9_./:+~@%,=-]*$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The warning line of an orphan. */
function orphanWarning(orphan: OrphanObject): string {
  const what = `${orphan.key} (${orphan.size} bytes, written ${orphan.lastModified}) is in ` +
    "no record: an orphan (a failed or abandoned upload)";
  return orphan.removeCommand === undefined
    ? `${what}; delete it from the repository bucket unless an upload is recording it now`
    : `${what}; unless an upload is recording it now, remove it with: ${orphan.removeCommand}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
