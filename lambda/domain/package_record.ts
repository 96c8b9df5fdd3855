/**
 * The package record: one published version of one package, as stored in the
 * packages table. It holds everything needed to write the version's `Packages`
 * stanza, so that a rebuild never reads a `.deb` or an old index.
 *
 * @module
 */

import type { ChannelChange } from "./channels.ts";
import { canonicalVersion } from "./version.ts";

/** How a package version reached the repository. */
export type PackageType = "external_download" | "build_script" | "github_release" | "upload";

/** Every {@linkcode PackageType}, for validation and schemas. */
export const PACKAGE_TYPES: readonly PackageType[] = [
  "external_download",
  "build_script",
  "github_release",
  "upload",
];

/** Whether an identity is in the repository's indexes (`published`) or was taken out (`withdrawn`). */
export type RecordStatus = "published" | "withdrawn";

/** Every {@linkcode RecordStatus}. */
export const RECORD_STATUSES: readonly RecordStatus[] = ["published", "withdrawn"];

/**
 * A Debian control paragraph, field name → value, as read from a `.deb`.
 *
 * Field names keep the case they had in the file. A value has its first line
 * without the leading white space after the colon, and each continuation line
 * as it stood in the file (leading space kept, `.` lines kept), joined with
 * `\n`, with no trailing white space. So `Description: short\n long` is
 * `{ Description: "short\n long" }`.
 */
export type ControlFields = Record<string, string>;

/**
 * One item of the packages table: one binary package identity (name,
 * version, architecture), `docs/architecture.md` "Identity".
 */
export interface PackageRecord {
  /** Partition key: `${package_name}#${canonicalVersion(version)}` ({@linkcode packageId}). */
  package_id: string;
  package_name: string;
  /** The version as the `.deb` spells it. */
  version: string;
  /** Sort key: the `.deb`'s `Architecture` (`amd64`, `arm64`, `all`, …). */
  architecture: string;
  package_type: PackageType;
  /** When the version was published upstream (ISO 8601, or the feed's own text). */
  pub_date: string;
  /** When this record was written (ISO 8601, UTC). */
  processed_timestamp: string;
  /** Where the `.deb` came from (feed URL, `s3://…`, `file://…`). */
  deb_url: string;
  /** The file name the `.deb` had where it came from. */
  actual_filename: string;
  /** Where the `.deb` lives in the bucket, e.g. `pool/main/k/kiro/kiro_1.0_amd64.deb`. */
  pool_key: string;
  file_size: number;
  md5_hash: string;
  sha1_hash: string;
  sha256_hash: string;
  section: string;
  priority: string;
  maintainer: string;
  homepage: string;
  description: string;
  depends?: string;
  /** The `.deb`'s own control paragraph: the `Packages` stanza is written from it. */
  control: ControlFields;
  certificate_url?: string;
  signature_url?: string;
  notes?: string;
  /** `published` (in the indexes) or `withdrawn`; a record without one is published. */
  status?: RecordStatus;
  /** When it was withdrawn (ISO 8601, UTC); only while withdrawn. */
  withdrawn_at?: string;
  /** Who withdrew it (the AWS caller identity, or the local user name). */
  withdrawn_by?: string;
  /** Why it was withdrawn. */
  withdraw_reason?: string;
  /**
   * The channels (APT suites) whose index may list it (`lambda/domain/channels.ts`);
   * a record without the field is in `stable`. Membership changes; the bytes never do.
   */
  channels?: string[];
  /** Every change of `channels` after the record was written: when, who, why. */
  channel_history?: ChannelChange[];
  /** When `deno task prune-pool` deleted its pool object (ISO 8601, UTC); it is in no index since. */
  pruned_at?: string;
}

/** The identity of one binary package: what the table's key is made of. */
export interface PackageIdentity {
  package_name: string;
  version: string;
  architecture: string;
}

/** Whether `record` belongs in the repository's indexes (not withdrawn). */
export function isPublished(record: Pick<PackageRecord, "status">): boolean {
  return record.status !== "withdrawn";
}

/** `NAME VERSION (ARCH)`, how messages name an identity. */
export function describeIdentity(identity: PackageIdentity): string {
  return `${identity.package_name} ${identity.version} (${identity.architecture})`;
}

/**
 * The partition key of a package version: the name and the version's
 * canonical spelling, so every spelling dpkg holds equal (`1.0`, `1.0-0`,
 * `1.00`, `0:1.0`) lands on one key and the table's conditional write refuses
 * the second one by itself. For a version written the usual way it is
 * `${name}#${version}`.
 *
 * @throws {VersionError} when `version` cannot be parsed at all
 * @example
 * ```ts
 * packageId("kiro", "1.0.337"); // "kiro#1.0.337"
 * packageId("kiro", "0:1.00-0"); // "kiro#1.0"
 * ```
 */
export function packageId(packageName: string, version: string): string {
  return `${packageName}#${canonicalVersion(version)}`;
}
