/**
 * Fixtures for the publisher's tests: signing keys, package records whose
 * pool objects exist (with made-up bytes: the publisher never reads them),
 * and an in-memory record store.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  packageId,
  type PackageIdentity,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { generateSigningKey, readSigningKeys, type SigningKey } from "../../lambda/signing/keys.ts";
import {
  differingFields,
  IdentityConflictError,
  identityConflicts,
  RecordConflictError,
  RecordNotFoundError,
  type StatusChange,
} from "../../lambda/store/package_store.ts";

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

/**
 * A record store over a `Map` (what `PackageStore` does, without DynamoDB:
 * one record per identity, dpkg-equal versions one key, the same conflicts).
 */
export class MemoryRecords {
  readonly records: Map<string, PackageRecord> = new Map();

  #key(identity: PackageIdentity): string {
    return `${packageId(identity.package_name, identity.version)}\0${identity.architecture}`;
  }

  get(identity: PackageIdentity): Promise<PackageRecord | undefined> {
    return Promise.resolve(this.records.get(this.#key(identity)));
  }

  versionRecords(
    version: Pick<PackageIdentity, "package_name" | "version">,
  ): Promise<PackageRecord[]> {
    const id = packageId(version.package_name, version.version);
    return Promise.resolve([...this.records.values()].filter((r) => r.package_id === id));
  }

  async put(record: PackageRecord): Promise<"created" | "unchanged"> {
    const existing = this.records.get(this.#key(record));
    if (existing !== undefined) {
      const fields = differingFields(existing, record);
      if (fields.length === 0) return "unchanged";
      throw new RecordConflictError(existing, fields, record);
    }
    const conflicts = identityConflicts(record, await this.versionRecords(record));
    if (conflicts.length > 0) throw new IdentityConflictError(record, conflicts);
    this.records.set(this.#key(record), record);
    return "created";
  }

  setStatus(identity: PackageIdentity, change: StatusChange): Promise<PackageRecord> {
    const existing = this.records.get(this.#key(identity));
    if (existing === undefined) {
      return Promise.reject(new RecordNotFoundError(`${identity.package_name} is not recorded`));
    }
    const { withdrawn_at: _a, withdrawn_by: _b, withdraw_reason: _c, ...rest } = existing;
    const next: PackageRecord = change.status === "withdrawn"
      ? {
        ...rest,
        status: "withdrawn",
        withdrawn_at: change.at,
        withdrawn_by: change.by,
        withdraw_reason: change.reason,
      }
      : { ...rest, status: "published" };
    this.records.set(this.#key(identity), next);
    return Promise.resolve(next);
  }

  listAll(): Promise<PackageRecord[]> {
    return Promise.resolve([...this.records.values()]);
  }
}
