/**
 * Checking that every record's `.deb` is in the pool, as the record says,
 * without reading any `.deb`: one listing of `pool/` (size and ETag), and a
 * HEAD only where the ETag is not the file's MD5 (multipart uploads), to
 * compare the SHA-256 kept in the object's metadata.
 *
 * @module
 */

import type { PackageRecord } from "../domain/package_record.ts";
import { Hasher } from "../hashing.ts";
import { mapLimit } from "./limit.ts";
import type { ObjectStore } from "../aws/object_store.ts";

/**
 * How the pool is read: one listing of `pool/` (S3: a request per 1,000
 * objects; the default), or a HEAD per record (cheaper when a few records are
 * checked in a large pool).
 */
export type PoolCheckStrategy = "list" | "head";

/**
 * The problems with the pool objects of `records` (empty when every object is
 * there with the record's size and hash). Each problem names the record and
 * the key.
 */
export async function verifyPool(
  records: readonly PackageRecord[],
  objects: ObjectStore,
  options: { concurrency?: number; strategy?: PoolCheckStrategy } = {},
): Promise<string[]> {
  if (records.length === 0) return [];
  let listed: Map<string, { size: number; etag: string }> | undefined;
  if ((options.strategy ?? "list") === "list") {
    listed = new Map();
    for await (const object of objects.list("pool/")) {
      listed.set(object.key, { size: object.size, etag: object.etag });
    }
  }
  const problems = await mapLimit(records, options.concurrency ?? 16, async (record) => {
    const what = `${record.package_id} (${record.pool_key})`;
    const object = listed === undefined
      ? await objects.head(record.pool_key)
      : listed.get(record.pool_key);
    if (object === undefined) return `${what} is not in the bucket`;
    if (object.size !== record.file_size) {
      return `${what} has ${object.size} bytes, the record says ${record.file_size}`;
    }
    if (object.etag.toLowerCase() === record.md5_hash.toLowerCase()) return undefined;
    const head = await objects.head(record.pool_key);
    if (head === undefined) return `${what} is not in the bucket`;
    if (head.sha256 === undefined) {
      return `${what} has no sha256 metadata and its ETag is not the record's MD5`;
    }
    if (head.sha256.toLowerCase() !== record.sha256_hash.toLowerCase()) {
      return `${what} has SHA-256 ${head.sha256}, the record says ${record.sha256_hash}`;
    }
    return undefined;
  });
  return problems.filter((problem): problem is string => problem !== undefined);
}

/**
 * The problems found by reading every record's pool object to its end and
 * hashing it (size and SHA-256): the check that does not trust metadata or
 * ETags. Costs one full download per record; `onProgress` is told each file.
 */
export async function verifyPoolContents(
  records: readonly PackageRecord[],
  objects: ObjectStore,
  options: { concurrency?: number; onProgress?: (record: PackageRecord) => void } = {},
): Promise<string[]> {
  const problems = await mapLimit(records, options.concurrency ?? 4, async (record) => {
    options.onProgress?.(record);
    const what = `${record.package_id} (${record.pool_key})`;
    const stream = await objects.read(record.pool_key);
    if (stream === undefined) return `${what} is not in the bucket`;
    const hash = new Hasher("sha256");
    for await (const chunk of stream) hash.update(chunk);
    const size = hash.size;
    const sha256 = hash.digest();
    if (size !== record.file_size) {
      return `${what} has ${size} bytes, the record says ${record.file_size}`;
    }
    if (sha256 !== record.sha256_hash.toLowerCase()) {
      return `${what} has SHA-256 ${sha256} (read in full), the record says ${record.sha256_hash}`;
    }
    return undefined;
  });
  return problems.filter((problem): problem is string => problem !== undefined);
}
