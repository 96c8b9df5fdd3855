/**
 * The one way a `.deb` enters the pool and the packages table, whatever
 * brought it (the scheduled sync's download, `add-deb`, the kiro-repo build).
 *
 * The caller has already put the bytes at a temporary staging key and read
 * them (control paragraph, size, hashes) into the record it would write. The
 * intake then:
 *
 * 1. refuses early what the table would refuse anyway: other bytes under the
 *    identity ({@linkcode RecordConflictError}), or a version whose other
 *    architectures forbid this one ({@linkcode IdentityConflictError}) — before
 *    anything reaches the pool;
 * 2. answers `unchanged` for the same bytes already recorded (published or
 *    withdrawn: the caller says what a withdrawn identity means to it) —
 *    unless `deno task prune-pool` deleted their pool object: then the bytes
 *    go back to the pool and the record loses its `pruned_at` (`restored`);
 * 3. checks the staged object's size, copies it server-side to the pool key
 *    (unless the pool already holds exactly those bytes), and checks the copy;
 * 4. records the identity with a conditional write ({@linkcode PackageStore.put});
 * 5. on any failure deletes what it put at the pool key unless a record now
 *    names it, and always deletes the staging object.
 *
 * So nothing appears at a pool key before its bytes were checked, and a
 * failure leaves neither a pool object nor a record behind. A crash between
 * the copy and the record leaves a pool object no record names (an orphan),
 * which `verify` reports.
 *
 * @module
 */

import { describeIdentity, type PackageRecord } from "../domain/package_record.ts";
import { headersFor } from "../aws/object_headers.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import {
  differingFields,
  IdentityConflictError,
  identityConflicts,
  type PackageStore,
  type PutResult,
  RecordConflictError,
} from "./package_store.ts";

/**
 * The package records every way in reads and writes: a {@linkcode PackageStore}
 * fits (`setPruned` brings back an identity whose pool object was pruned).
 */
export type RecordStore =
  & Pick<PackageStore, "get" | "put" | "versionRecords">
  & Partial<Pick<PackageStore, "setPruned">>;

/** Bytes waiting at a staging key, and the record they make. */
export interface StagedDeb {
  /** The temporary key holding the bytes. */
  stagingKey: string;
  /** The record to write; its `pool_key`, `file_size` and `sha256_hash` describe the bytes. */
  record: PackageRecord;
}

/** What {@linkcode admitStaged} needs. */
export interface IntakeDeps {
  objects: ObjectStore;
  records: RecordStore;
  /** Told about objects that could not be cleaned up (they do no harm). */
  onWarning?: (message: string) => void;
}

/** What the intake did. */
export interface IntakeResult {
  /** The record now in the table (the stored one when `unchanged`). */
  record: PackageRecord;
  /** `created`, or `unchanged` when the same bytes were already recorded. */
  outcome: PutResult;
  /** True when the identity's pool object had been pruned and is back. */
  restored?: boolean;
}

async function removeQuietly(deps: IntakeDeps, key: string): Promise<void> {
  try {
    await deps.objects.delete(key);
  } catch (error) {
    deps.onWarning?.(
      `Cannot delete ${key}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Moves staged bytes into the pool and records them (see the module docs).
 * Throws {@linkcode RecordConflictError} or {@linkcode IdentityConflictError}
 * when the table forbids the record, and `Error` when the staged object or its
 * copy does not hold the bytes the record describes.
 */
export async function admitStaged(staged: StagedDeb, deps: IntakeDeps): Promise<IntakeResult> {
  const { record, stagingKey } = staged;
  const key = record.pool_key;
  let poolWritten = false;
  try {
    const existing = await deps.records.get(record);
    const restoring = existing?.pruned_at !== undefined && deps.records.setPruned !== undefined;
    if (existing !== undefined) {
      const fields = differingFields(existing, record);
      if (fields.length > 0) throw new RecordConflictError(existing, fields, record);
      if (!restoring) return { record: existing, outcome: "unchanged" };
    } else {
      const conflicts = identityConflicts(record, await deps.records.versionRecords(record));
      if (conflicts.length > 0) throw new IdentityConflictError(record, conflicts);
    }

    const placed = await deps.objects.head(key);
    if (placed?.sha256 !== record.sha256_hash || placed.size !== record.file_size) {
      const stagedInfo = await deps.objects.head(stagingKey);
      if (stagedInfo === undefined || stagedInfo.size !== record.file_size) {
        throw new Error(
          `Cannot place ${describeIdentity(record)}: the upload at ${stagingKey} holds ${
            stagedInfo?.size ?? "no"
          } bytes, not ${record.file_size}; run the same command again`,
        );
      }
      poolWritten = true;
      await deps.objects.copy(stagingKey, key, { ...headersFor(key), sha256: record.sha256_hash });
      const copied = await deps.objects.head(key);
      if (copied === undefined || copied.size !== record.file_size) {
        throw new Error(
          `Cannot place ${describeIdentity(record)}: the copy at ${key} holds ${
            copied?.size ?? "no"
          } bytes, not ${record.file_size}; run the same command again`,
        );
      }
    }

    if (existing !== undefined && restoring) {
      // The same bytes, whose pool object prune-pool deleted: back in the pool.
      await deps.records.setPruned?.(existing, undefined);
      poolWritten = false;
      const { pruned_at: _pruned, ...back } = existing;
      return { record: back, outcome: "unchanged", restored: true };
    }
    const outcome = await deps.records.put(record);
    poolWritten = false;
    return { record, outcome };
  } catch (error) {
    // Take back what the copy put at the pool key, unless a record now names
    // it (another writer recorded the same identity meanwhile).
    if (poolWritten) {
      const now = await deps.records.get(record).catch(() => undefined);
      if (now === undefined) await removeQuietly(deps, key);
    }
    throw error;
  } finally {
    await removeQuietly(deps, stagingKey);
  }
}
