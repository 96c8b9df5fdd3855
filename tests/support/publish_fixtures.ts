/**
 * Fixtures for the publisher's tests: signing keys, package records whose
 * pool objects exist (with made-up bytes: the publisher never reads them),
 * and an in-memory record store.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { packageId, type PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { headersFor } from "../../lambda/publish/object_headers.ts";
import type { ObjectStore } from "../../lambda/publish/object_store.ts";
import { generateSigningKey, readSigningKeys, type SigningKey } from "../../lambda/signing/keys.ts";

let keys: Promise<SigningKey[]> | undefined;

/** One Ed25519 signing key, generated once per test process, with its armored private key. */
export function testSigningKeys(): Promise<SigningKey[]> {
  keys ??= (async () => {
    const generated = await generateSigningKey({
      name: "Kiro Test Archive",
      email: "test@kiro.invalid",
      type: "ed25519",
      date: new Date("2020-01-01T00:00:00Z"),
    });
    return await readSigningKeys(generated.armoredPrivateKey);
  })();
  return keys;
}

/** What a synthetic package is made of. */
export interface SyntheticPackage {
  name: string;
  version: string;
  architecture: string;
  /** The pool object's bytes (default: derived from name, version and architecture). */
  bytes?: Uint8Array;
  description?: string;
}

/** A record and the bytes of its pool object. */
export interface SyntheticRecord {
  record: PackageRecord;
  bytes: Uint8Array;
}

const hex = (algorithm: string, bytes: Uint8Array) =>
  createHash(algorithm).update(bytes).digest("hex");

/** A complete package record for made-up pool bytes (consistent sizes and hashes). */
export function syntheticRecord(pkg: SyntheticPackage): SyntheticRecord {
  const bytes = pkg.bytes ??
    new TextEncoder().encode(`!<arch>\nfake deb ${pkg.name} ${pkg.version} ${pkg.architecture}\n`);
  const description = pkg.description ?? `The ${pkg.name} package\n test package for the publisher`;
  const control = {
    Package: pkg.name,
    Version: pkg.version,
    Architecture: pkg.architecture,
    Maintainer: "Kiro Team <support@kiro.dev>",
    "Installed-Size": "12",
    Section: "editors",
    Priority: "optional",
    Homepage: "https://kiro.dev",
    Description: description,
  };
  const record: PackageRecord = {
    package_id: packageId(pkg.name, pkg.version),
    package_name: pkg.name,
    version: pkg.version,
    architecture: pkg.architecture,
    package_type: "upload",
    pub_date: "2026-01-01T00:00:00Z",
    processed_timestamp: "2026-01-01T00:00:00Z",
    deb_url: `file:///tmp/${pkg.name}.deb`,
    actual_filename: `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`,
    pool_key: poolKey(pkg),
    file_size: bytes.byteLength,
    md5_hash: hex("md5", bytes),
    sha1_hash: hex("sha1", bytes),
    sha256_hash: hex("sha256", bytes),
    section: "editors",
    priority: "optional",
    maintainer: control.Maintainer,
    homepage: control.Homepage,
    description,
    control,
  };
  return { record, bytes };
}

/** Puts each record's pool object into `objects` (as an upload would). */
export async function seedPool(
  objects: ObjectStore,
  items: readonly SyntheticRecord[],
): Promise<PackageRecord[]> {
  for (const { record, bytes } of items) {
    await objects.put(record.pool_key, bytes, {
      ...headersFor(record.pool_key),
      sha256: record.sha256_hash,
    });
  }
  return items.map((item) => item.record);
}

/** A record store over a `Map` (what `PackageStore` does, without DynamoDB). */
export class MemoryRecords {
  readonly records: Map<string, PackageRecord> = new Map();

  get(name: string, version: string): Promise<PackageRecord | undefined> {
    return Promise.resolve(this.records.get(packageId(name, version)));
  }

  put(record: PackageRecord): Promise<"created" | "unchanged"> {
    const existing = this.records.get(record.package_id);
    if (existing !== undefined) {
      if (existing.sha256_hash === record.sha256_hash) return Promise.resolve("unchanged");
      const error = new Error(`${record.package_id} is recorded with other content`);
      error.name = "RecordConflictError";
      return Promise.reject(error);
    }
    this.records.set(record.package_id, record);
    return Promise.resolve("created");
  }

  listAll(): Promise<PackageRecord[]> {
    return Promise.resolve([...this.records.values()]);
  }
}
