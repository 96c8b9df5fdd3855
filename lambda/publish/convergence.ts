/**
 * Whether the live repository is what the packages table gives: a cheap
 * check, not a rebuild (nothing is signed, written or listed; the pool is not
 * read). It reads only each channel's `Release`, `InRelease`, `Release.gpg`,
 * the published keyring and the uncompressed `Packages` files, and finds
 * (for each channel, against what `channelIndex` in
 * `lambda/domain/channels.ts` says its index lists):
 *
 * - no live `Release`;
 * - a `Release` whose `binary-*` indexes are not the ones the table gives
 *   (the publisher's own rule: `generateRepositoryIndexes` in
 *   `publisher.ts`, which also says where each record is listed, an
 *   `Architecture: all` one in every architecture's index);
 * - a `Packages` that is missing, does not match its `SHA256` line in the
 *   `Release`, lacks a published identity (name, version, architecture,
 *   SHA-256, Filename), lists one that is not published (withdrawn, or not in
 *   the table), or otherwise differs from what the table gives;
 * - `Release.gpg` or `InRelease` that do not verify over the live `Release`
 *   with the keys of the live keyring, or an `InRelease` that signs other
 *   text (a publish killed between its Release writes leaves them so).
 *
 * Bad or missing content is a reason (one line naming the file), never a
 * throw; only the object store's own errors are thrown.
 * {@linkcode ensureConverged} publishes once when the check fails.
 *
 * @module
 */

import { channelIndexes, DEFAULT_CHANNELS, inChannel } from "../domain/channels.ts";
import { describeIdentity, isPublished, type PackageRecord } from "../domain/package_record.ts";
import { parseRelease, type ReleaseFileLine } from "../repo/release.ts";
import { parseStanzas } from "../repo/stanza.ts";
import { KEYRING_NAME } from "./index_html.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import type { RecordLister } from "../store/package_store.ts";
import { sha256Hex } from "../hashing.ts";
import {
  generateRepositoryIndexes,
  KIRO_REPO_DEB_KEY,
  KIRO_REPO_PACKAGE,
  latestRecord,
  type RepositoryLayoutOptions,
} from "./publisher.ts";
import { checkReleaseSignatures } from "./verify.ts";

/** Options of {@linkcode checkConvergence} (the repository's shape, as the publisher's). */
export interface ConvergenceOptions extends RepositoryLayoutOptions {
  /**
   * At most this many identity reasons per `Packages` file; the rest are
   * counted in one more line. Default 10.
   */
  maxReasonsPerIndex?: number;
}

/** What {@linkcode checkConvergence} reads. */
export interface ConvergenceDependencies {
  /** The repository bucket. */
  objects: ObjectStore;
}

/** The answer of {@linkcode checkConvergence}. */
export interface ConvergenceReport {
  /** True when the live repository is what the table gives. */
  converged: boolean;
  /** Why not, one line each naming the file (empty when converged). */
  reasons: string[];
}

/** What {@linkcode ensureConverged} needs. */
export interface EnsureConvergedDependencies extends ConvergenceDependencies {
  /** The packages table. */
  store: RecordLister;
  /** Publishes the repository from the table (e.g. `forceRebuild` in `lambda/rebuild.ts`). */
  publish: () => Promise<unknown>;
}

/** The answer of {@linkcode ensureConverged}. */
export interface EnsureConvergedResult {
  /** True when the repository was not converged and `publish` was called. */
  published: boolean;
  /** Why it was published (empty when it was converged). */
  reasons: string[];
}

/** The fields of a `Packages` stanza that identify the file it lists. */
interface ListedIdentity {
  package_name: string;
  version: string;
  architecture: string;
  sha256: string;
  filename: string;
}

/**
 * Checks whether the live repository in `deps.objects` is what `records`
 * give (`records`: every record of the table; only the published ones belong
 * in the indexes). See the module docs for what is compared.
 *
 * @throws only what the object store throws (a missing object is a reason)
 * @example
 * ```ts
 * const { converged, reasons } = await checkConvergence(await store.listAll(), { objects });
 * ```
 */
export async function checkConvergence(
  records: readonly PackageRecord[],
  deps: ConvergenceDependencies,
  options: ConvergenceOptions = {},
): Promise<ConvergenceReport> {
  const objects = deps.objects;
  const channels = options.channels ?? DEFAULT_CHANNELS;
  const reasons: string[] = [];
  const keyring = await objects.get(KEYRING_NAME);
  if (keyring === undefined) {
    reasons.push(`${KEYRING_NAME} is missing: the signatures cannot be checked`);
  }
  const selections = channelIndexes(records, {
    channels,
    ...(options.keepVersions === undefined ? {} : { keepVersions: options.keepVersions }),
  });
  const perChannel = await Promise.all(
    channels.map((channel) =>
      checkChannel(records, selections.get(channel)?.listed ?? [], {
        ...options,
        objects,
        channel,
        keyring,
      })
    ),
  );
  reasons.push(...perChannel.flat());

  // The convenience copy follows the latest kiro-repo of the default channel (or is gone).
  const kiroRepo = latestRecord(selections.get(channels[0] ?? "")?.listed ?? [], KIRO_REPO_PACKAGE);
  const copy = await objects.head(KIRO_REPO_DEB_KEY);
  if (kiroRepo === undefined && copy !== undefined) {
    reasons.push(`${KIRO_REPO_DEB_KEY} exists but no kiro-repo is published`);
  } else if (
    kiroRepo !== undefined &&
    (copy?.sha256 !== kiroRepo.sha256_hash || copy.size !== kiroRepo.file_size)
  ) {
    reasons.push(`${KIRO_REPO_DEB_KEY} is not kiro-repo ${kiroRepo.version}, the latest published`);
  }
  return { converged: reasons.length === 0, reasons };
}

/** The reasons why one channel's suite is not what `listed` gives. */
async function checkChannel(
  records: readonly PackageRecord[],
  listed: readonly PackageRecord[],
  options: ConvergenceOptions & {
    objects: ObjectStore;
    channel: string;
    keyring: Uint8Array | undefined;
  },
): Promise<string[]> {
  const { objects, channel: distribution, keyring } = options;
  const component = options.component ?? "main";
  const dists = `dists/${distribution}/`;
  const reasons: string[] = [];

  const [release, inRelease, releaseGpg] = await Promise.all([
    objects.get(`${dists}Release`),
    objects.get(`${dists}InRelease`),
    objects.get(`${dists}Release.gpg`),
  ]);
  if (release === undefined) {
    reasons.push(`${dists}Release is missing: the channel was never published`);
    return reasons;
  }
  const liveRelease = parseRelease(new TextDecoder().decode(release));
  if (liveRelease.problems.length > 0) {
    reasons.push(`${dists}Release is not readable: ${liveRelease.problems[0]}`);
    return reasons;
  }
  const lines = liveRelease.files;

  if (keyring !== undefined) {
    const signatures = await checkReleaseSignatures(release, { inRelease, releaseGpg }, {
      keyring,
      distribution,
    });
    reasons.push(...signatures.problems);
  }

  // What the publisher would write for the channel. Only the uncompressed
  // `Packages` are used, so the dates do not matter and nothing is compressed.
  let expected: Map<string, Uint8Array>;
  try {
    const generated = await generateRepositoryIndexes(listed, {
      date: new Date(0),
      validUntil: new Date(86_400_000),
      distribution,
      component,
      compression: [],
      ...(options.architectures === undefined ? {} : { architectures: options.architectures }),
      ...(options.releaseFields === undefined ? {} : { releaseFields: options.releaseFields }),
    });
    expected = new Map(
      generated.files
        .filter((file) => file.kind === "index" && file.canonicalName.endsWith("/Packages"))
        .map((file) => [file.canonicalName.slice(0, -"/Packages".length), file.bytes]),
    );
  } catch (error) {
    reasons.push(
      `Cannot generate the indexes of ${distribution} from the table: ${messageOf(error)}`,
    );
    return reasons;
  }

  const listedDirs = new Set<string>();
  for (const path of lines.keys()) {
    const match = /^(.+\/binary-[^/]+)\/Packages(?:\.gz|\.xz)?$/.exec(path);
    if (match?.[1] !== undefined) listedDirs.add(match[1]);
  }
  for (const dir of expected.keys()) {
    if (!listedDirs.has(dir)) {
      reasons.push(`${dists}Release does not list ${dir}, which the table gives`);
    }
  }
  for (const dir of [...listedDirs].sort()) {
    if (!expected.has(dir)) {
      reasons.push(`${dists}Release lists ${dir}, which the table does not give`);
    }
  }

  const inIndex = new Set(listed.map((record) => identityKey(record)));
  const absent = new Map(
    records.filter((record) => !inIndex.has(identityKey(record))).map((record) => [
      identityKey(record),
      !isPublished(record)
        ? "is withdrawn"
        : record.pruned_at !== undefined
        ? "was pruned"
        : inChannel(record, distribution)
        ? "is retained out by keep_versions"
        : `is not in the ${distribution} channel`,
    ]),
  );
  const found = await Promise.all(
    [...expected].map(async ([dir, want]) => {
      const key = `${dists}${dir}/Packages`;
      const live = await objects.get(key);
      if (live === undefined) return [`${key} is missing`];
      return comparePackages(live, want, {
        key,
        line: lines.get(`${dir}/Packages`),
        absent,
        maxReasons: options.maxReasonsPerIndex ?? 10,
        release: `${dists}Release`,
      });
    }),
  );
  reasons.push(...found.flat());
  return reasons;
}

/**
 * Reads every record from `deps.store`, checks the live repository against
 * them ({@linkcode checkConvergence}) and, when it is not converged, calls
 * `deps.publish()` once. What a task or the sync runs after recording.
 *
 * @throws what the store, the object store or `publish` throw
 */
export async function ensureConverged(
  deps: EnsureConvergedDependencies,
  options: ConvergenceOptions = {},
): Promise<EnsureConvergedResult> {
  const records = await deps.store.listAll({ forPublishing: true });
  const { converged, reasons } = await checkConvergence(records, deps, options);
  if (converged) return { published: false, reasons: [] };
  await deps.publish();
  return { published: true, reasons };
}

/** What {@linkcode comparePackages} compares against. */
interface PackagesComparison {
  /** The object's key, for the reasons. */
  key: string;
  /** The file's line in the live Release, when it has one. */
  line: ReleaseFileLine | undefined;
  /** `name\0version\0arch` → why a record of the table is not in the index. */
  absent: ReadonlyMap<string, string>;
  maxReasons: number;
  /** The Release's key, for the reasons. */
  release: string;
}

/** The reasons why a live `Packages` is not `want` (empty when it is). */
function comparePackages(
  live: Uint8Array,
  want: Uint8Array,
  options: PackagesComparison,
): string[] {
  const { key } = options;
  const reasons: string[] = [];
  const sha256 = sha256Hex(live);
  if (options.line === undefined) {
    reasons.push(`${options.release} has no line for ${key}`);
  } else if (options.line.sha256 !== sha256 || options.line.size !== live.byteLength) {
    reasons.push(
      `${key} does not match its SHA256 line in ${options.release} (apt reports a Hash Sum ` +
        "mismatch)",
    );
  }
  if (sha256 === sha256Hex(want)) return reasons;

  let got: ListedIdentity[];
  try {
    got = listedIdentities(live);
  } catch (error) {
    return [...reasons, `${key} is not a readable Packages file: ${messageOf(error)}`];
  }
  const expected = listedIdentities(want);
  const fullKey = (id: ListedIdentity) => `${identityKey(id)}\0${id.sha256}\0${id.filename}`;
  const gotKeys = new Set(got.map(fullKey));
  const expectedKeys = new Set(expected.map(fullKey));
  const missing = expected.filter((id) => !gotKeys.has(fullKey(id)));
  const extra = got.filter((id) => !expectedKeys.has(fullKey(id)));
  const differences: string[] = [];
  for (const id of missing) {
    const other = extra.findIndex((candidate) => identityKey(candidate) === identityKey(id));
    if (other === -1) {
      differences.push(
        `${key} does not list ${describeIdentity(id)} at ${id.filename}, a published record`,
      );
      continue;
    }
    const [stale] = extra.splice(other, 1);
    differences.push(
      `${key} lists ${describeIdentity(id)} with SHA256 ${stale?.sha256} at ${stale?.filename}; ` +
        `the table has ${id.sha256} at ${id.filename}`,
    );
  }
  for (const id of extra) {
    differences.push(
      `${key} lists ${describeIdentity(id)} at ${id.filename}, which ${
        options.absent.get(identityKey(id)) ?? "is not a record in the table"
      }`,
    );
  }
  if (differences.length > options.maxReasons) {
    const more = differences.length - options.maxReasons;
    differences.splice(options.maxReasons, more, `${key}: ${more} more difference(s)`);
  }
  if (differences.length === 0) {
    differences.push(
      `${key} lists the published records but its text differs from what the table gives`,
    );
  }
  return [...reasons, ...differences];
}

/** The identities a `Packages` text lists. @throws {StanzaError} on text that is not deb822 */
function listedIdentities(bytes: Uint8Array): ListedIdentity[] {
  return parseStanzas(new TextDecoder().decode(bytes)).map((stanza) => ({
    package_name: stanza["Package"] ?? "",
    version: stanza["Version"] ?? "",
    architecture: stanza["Architecture"] ?? "",
    sha256: stanza["SHA256"] ?? "",
    filename: stanza["Filename"] ?? "",
  }));
}

/** `name\0version\0architecture`. */
function identityKey(id: Pick<PackageRecord, "package_name" | "version" | "architecture">): string {
  return `${id.package_name}\0${id.version}\0${id.architecture}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
