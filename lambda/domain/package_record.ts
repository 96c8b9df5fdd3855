/**
 * The package record: one published version of one package, as stored in the
 * packages table. It holds everything needed to write the version's `Packages`
 * stanza, so that a rebuild never reads a `.deb` or an old index.
 *
 * @module
 */

/** How a package version reached the repository. */
export type PackageType = "external_download" | "build_script" | "github_release" | "upload";

/** Every {@linkcode PackageType}, for validation and schemas. */
export const PACKAGE_TYPES: readonly PackageType[] = [
  "external_download",
  "build_script",
  "github_release",
  "upload",
];

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

/** One item of the packages table (DESIGN.md §5). */
export interface PackageRecord {
  /** Partition key: `${package_name}#${version}`. */
  package_id: string;
  package_name: string;
  version: string;
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
}

/**
 * The partition key of a package version.
 *
 * @example
 * ```ts
 * packageId("kiro", "1.0.337"); // "kiro#1.0.337"
 * ```
 */
export function packageId(packageName: string, version: string): string {
  return `${packageName}#${version}`;
}
