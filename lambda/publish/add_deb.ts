/**
 * Adding `.deb` files an operator has (`deno task add-deb FILE…`): each file
 * is read once for its control paragraph, size and hashes, uploaded to a
 * temporary key with its SHA-256 checked on the way, copied to its pool key,
 * and recorded with `package_type: upload`. The caller then runs one rebuild.
 *
 * The same bytes added twice are a no-op; different bytes under a version
 * already recorded are refused (recorded versions are immutable). Nothing
 * appears at a pool key before its bytes were checked, and a failure leaves
 * neither a pool object nor a record behind.
 *
 * @module
 */

import { randomUUID } from "node:crypto";
import { createHash } from "node:crypto";
import { getField } from "../deb/control.ts";
import { readDeb } from "../deb/deb_reader.ts";
import type { PackageRecord } from "../domain/package_record.ts";
import { poolKey } from "../domain/pool_path.ts";
import { recordFromDeb } from "../domain/record_from_deb.ts";
import { DEB_CONTENT_TYPE, headersFor } from "./object_headers.ts";
import type { ObjectStore } from "./object_store.ts";

/** Where uploads wait for their check (the bucket's `staging/` lifecycle rule expires leftovers). */
export const UPLOAD_STAGING_PREFIX = "staging/upload/";

/** One file to add. */
export interface DebSource {
  /** How it is named in messages (a path). */
  name: string;
  /** The URL recorded as `deb_url` (e.g. `file:///home/me/kiro_1.0_amd64.deb`). */
  url: string;
  /** Opens the file's bytes from the start (called twice: read, then upload). */
  open(): ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>;
}

/** The package records add-deb reads and writes (a `PackageStore` fits). */
export interface UploadRecordStore {
  get(name: string, version: string): Promise<PackageRecord | undefined>;
  put(record: PackageRecord): Promise<"created" | "unchanged">;
}

/** The outcome for one file. */
export interface AddDebResult {
  file: string;
  record: PackageRecord;
  /** `created`, or `unchanged` when the same bytes were already recorded. */
  outcome: "created" | "unchanged";
}

/** The file cannot be added (it conflicts with a recorded version, or changed while read). */
export class AddDebError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AddDebError";
  }
}

/**
 * Reads, uploads and records one `.deb` (see the module docs). Throws
 * {@linkcode AddDebError} for a conflicting version or a file that changed,
 * `DebFormatError` for a file that is not a `.deb`.
 */
export async function addDeb(
  source: DebSource,
  deps: { objects: ObjectStore; records: UploadRecordStore; now?: () => Date },
): Promise<AddDebResult> {
  const deb = await readDeb(await source.open(), { name: source.name });
  const name = getField(deb.control, "Package") as string;
  const version = getField(deb.control, "Version") as string;
  const architecture = getField(deb.control, "Architecture") as string;
  const key = poolKey({ name, version, architecture });

  const existing = await deps.records.get(name, version);
  if (existing !== undefined) {
    if (existing.sha256_hash === deb.sha256) {
      return { file: source.name, record: existing, outcome: "unchanged" };
    }
    throw new AddDebError(
      `Cannot add ${source.name}: ${name} ${version} is already recorded with SHA-256 ` +
        `${existing.sha256_hash}, and this file has ${deb.sha256}; recorded versions are ` +
        "immutable, so give the package a new version",
    );
  }

  const placed = await deps.objects.head(key);
  if (placed?.sha256 !== deb.sha256 || placed.size !== deb.size) {
    const tempKey = `${UPLOAD_STAGING_PREFIX}${randomUUID()}/${
      key.slice(key.lastIndexOf("/") + 1)
    }`;
    try {
      const hash = createHash("sha256");
      let size = 0;
      const counted = (await source.open()).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            hash.update(chunk);
            size += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      );
      await deps.objects.put(tempKey, counted, {
        contentType: DEB_CONTENT_TYPE,
        cacheControl: "no-store",
        sha256: deb.sha256,
      });
      const uploaded = hash.digest("hex");
      if (uploaded !== deb.sha256 || size !== deb.size) {
        throw new AddDebError(
          `Cannot add ${source.name}: the file changed while it was read (SHA-256 ${deb.sha256}, ` +
            `then ${uploaded}); add it again once nothing writes to it`,
        );
      }
      await deps.objects.copy(tempKey, key, { ...headersFor(key), sha256: deb.sha256 });
    } finally {
      await deps.objects.delete(tempKey).catch(() => {});
    }
  }

  const record = recordFromDeb(deb, {
    packageType: "upload",
    debUrl: source.url,
    fileName: source.name.slice(source.name.lastIndexOf("/") + 1),
    processedAt: (deps.now ?? (() => new Date()))(),
    defaults: { section: "misc", priority: "optional" },
  });
  try {
    const outcome = await deps.records.put(record);
    return { file: source.name, record, outcome };
  } catch (error) {
    // Another writer may have recorded this version meanwhile: the pool
    // object is then theirs (same key). Leave it unless nothing refers to it.
    const now = await deps.records.get(name, version).catch(() => undefined);
    if (now === undefined && placed === undefined) await deps.objects.delete(key).catch(() => {});
    if (error instanceof Error && error.name === "RecordConflictError") {
      throw new AddDebError(
        `Cannot add ${source.name}: ${name} ${version} was recorded meanwhile with different ` +
          `content (${error.message})`,
        { cause: error },
      );
    }
    throw error;
  }
}
