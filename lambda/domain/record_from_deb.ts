/**
 * The package record of a `.deb`: what every way into the repository (the feed
 * ingest, `add-deb`, the kiro-repo build) writes to the packages table once the
 * file has been read, hashed and placed in the pool.
 *
 * @module
 */

import { DEFAULT_CHANNEL } from "./channels.ts";
import { getField } from "../deb/control.ts";
import type { DebInfo } from "../deb/deb_reader.ts";
import { admitDeb } from "../deb/door.ts";
import { packageId, type PackageRecord, type PackageType } from "./package_record.ts";
import { poolKey } from "./pool_path.ts";

/**
 * The longest release notes a record keeps, in bytes (UTF-8). With the control
 * paragraph (at most 64 KiB, `lambda/deb/door.ts`) and its description copied
 * beside it, a record stays under about 200 KB: half of DynamoDB's 400 KB item
 * limit (`docs/design.md`, "Data model").
 */
export const NOTES_LIMIT_BYTES = 64 * 1024;

/** What ends release notes that were cut to {@linkcode NOTES_LIMIT_BYTES}. */
export const NOTES_CUT_MARKER = "\n\n[release notes cut by kiro at 65536 bytes]";

/**
 * `notes` as a record keeps them: unchanged up to {@linkcode NOTES_LIMIT_BYTES},
 * else cut (on a character boundary) and ended with {@linkcode NOTES_CUT_MARKER}.
 */
export function limitNotes(notes: string): { notes: string; cut: boolean } {
  const bytes = new TextEncoder().encode(notes);
  if (bytes.byteLength <= NOTES_LIMIT_BYTES) return { notes, cut: false };
  const room = NOTES_LIMIT_BYTES - new TextEncoder().encode(NOTES_CUT_MARKER).byteLength;
  const kept = new TextDecoder().decode(bytes.subarray(0, room)).replace(/\uFFFD$/, "");
  return { notes: kept + NOTES_CUT_MARKER, cut: true };
}

/** Whether `record`'s notes were cut by {@linkcode limitNotes}. */
export function notesWereCut(record: Pick<PackageRecord, "notes">): boolean {
  return record.notes?.endsWith(NOTES_CUT_MARKER) ?? false;
}

/** The fields a package's configuration supplies when the `.deb`'s control paragraph lacks them. */
export type RecordDefaults = Partial<
  Pick<
    PackageRecord,
    "section" | "priority" | "maintainer" | "homepage" | "description" | "depends"
  >
>;

/** Where a `.deb` came from, and when: what its bytes cannot say. */
export interface RecordProvenance {
  packageType: PackageType;
  /** Where the `.deb` came from (feed URL, `s3://…`, `file://…`). */
  debUrl: string;
  /** The file name it had there. */
  fileName: string;
  /** When the record is written. */
  processedAt: Date;
  /** When the version was published upstream. Default: `processedAt`. */
  pubDate?: string;
  /** What the control paragraph lacks (the package's configuration). */
  defaults?: RecordDefaults;
  certificateUrl?: string;
  signatureUrl?: string;
  /** Release notes: cut to {@linkcode NOTES_LIMIT_BYTES} by {@linkcode limitNotes}. */
  notes?: string;
  /** The channel the record enters (`lambda/domain/channels.ts`). Default `stable`. */
  channel?: string;
  /**
   * The architectures the repository publishes (the stack's `architectures`;
   * `undefined`: the door's default).
   */
  architectures: readonly string[] | undefined;
}

/**
 * The record of the `.deb` that `deb` describes (its control paragraph, size
 * and digests, as `readDeb` gives them), once the door (`lambda/deb/door.ts`)
 * let it in: every way in builds its record here, so every `.deb` passes the
 * door once (`DebRefusedError` otherwise). Name, version and architecture come
 * from the control paragraph (`readDeb` has checked they are there); the pool
 * key is {@linkcode poolKey}'s; Debian fields come from the control paragraph,
 * else from `provenance.defaults`, else are empty.
 *
 * @example
 * ```ts
 * const record = recordFromDeb(await readDebBytes(bytes, { name }), {
 *   packageType: "upload",
 *   debUrl: `file://${name}`,
 *   fileName: name,
 *   processedAt: new Date(),
 *   architectures: undefined,
 * });
 * ```
 */
export function recordFromDeb(
  deb: Pick<
    DebInfo,
    "control" | "size" | "md5" | "sha1" | "sha256" | "controlBytes" | "dataMember" | "dataHead"
  >,
  provenance: RecordProvenance,
): PackageRecord {
  admitDeb(deb, { name: provenance.fileName, architectures: provenance.architectures });
  const control = deb.control;
  const field = (name: string) => getField(control, name) ?? "";
  const name = field("Package");
  const version = field("Version");
  const architecture = field("Architecture");
  const defaults = provenance.defaults ?? {};
  const debian = (name: string, fallback: string | undefined) =>
    getField(control, name) ?? fallback ?? "";
  const processedAt = provenance.processedAt.toISOString();
  const record: PackageRecord = {
    package_id: packageId(name, version),
    package_name: name,
    version,
    architecture,
    package_type: provenance.packageType,
    pub_date: provenance.pubDate !== undefined && provenance.pubDate !== ""
      ? provenance.pubDate
      : processedAt,
    processed_timestamp: processedAt,
    deb_url: provenance.debUrl,
    actual_filename: provenance.fileName,
    pool_key: poolKey({ name, version, architecture }),
    file_size: deb.size,
    md5_hash: deb.md5,
    sha1_hash: deb.sha1,
    sha256_hash: deb.sha256,
    section: debian("Section", defaults.section),
    priority: debian("Priority", defaults.priority),
    maintainer: debian("Maintainer", defaults.maintainer),
    homepage: debian("Homepage", defaults.homepage),
    description: debian("Description", defaults.description),
    control,
    status: "published",
    channels: [provenance.channel ?? DEFAULT_CHANNEL],
  };
  const depends = getField(control, "Depends") ?? defaults.depends;
  if (depends !== undefined) record.depends = depends;
  if (provenance.certificateUrl !== undefined) record.certificate_url = provenance.certificateUrl;
  if (provenance.signatureUrl !== undefined) record.signature_url = provenance.signatureUrl;
  if (provenance.notes !== undefined && provenance.notes !== "") {
    record.notes = limitNotes(provenance.notes).notes;
  }
  return record;
}
