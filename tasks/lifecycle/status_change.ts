/**
 * Withdrawing and reinstating identities (`deno task withdraw`, `deno task
 * reinstate`): the status changes in the table, then one publish.
 *
 * - Withdraw marks each chosen identity `withdrawn` with when, who and why.
 *   Its record and its pool object stay: clients holding an older index can
 *   still download the file, and reinstating needs no upload.
 * - Reinstate first checks that each chosen identity's pool object still has
 *   the recorded size and SHA-256, then marks it `published` again.
 *
 * A version names every spelling dpkg holds equal (`1.0` finds `1.0-0`).
 * Without an architecture, every architecture of the version is chosen.
 * Identities already in the wanted state are left alone; the repository is
 * published once at the end whenever the live indexes differ from the table,
 * so running the same command again after an interruption finishes the job.
 *
 * @module
 */

import {
  describeIdentity,
  isPublished,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { hashStream } from "../../lambda/hashing.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import type { PackageStore } from "../../lambda/store/package_store.ts";
import { type IdentitySelection, selectIdentities } from "../lib/identity_selection.ts";

/** A withdraw or reinstate request. */
export interface StatusChangeRequest extends IdentitySelection {
  action: "withdraw" | "reinstate";
  /** Why (withdraw only; required there). */
  reason?: string;
  /** Who (withdraw only): the operator's identity. */
  by?: string;
  /** Say what would change, change nothing. */
  dryRun?: boolean;
}

/** What the change needs. */
export interface StatusChangeDeps {
  store: Pick<PackageStore, "versionRecords" | "setStatus">;
  objects: Pick<ObjectStore, "head" | "read">;
  /**
   * Makes the live repository match the table (after the changes); returns
   * whether it published.
   */
  converge: () => Promise<boolean>;
  now?: () => Date;
  /** Progress lines. */
  onProgress?: (message: string) => void;
}

/** What the change did. */
export interface StatusChangeResult {
  /** The identities whose status changed (or would, on a dry run), as they are now. */
  changed: PackageRecord[];
  /** The identities already in the wanted state. */
  unchanged: PackageRecord[];
  /** Whether the repository was published. */
  published: boolean;
  dryRun: boolean;
}

/** The request cannot be carried out (nothing recorded, a pool object gone, a bad argument). */
export class StatusChangeError extends Error {
  override name = "StatusChangeError";
}

/**
 * Checks that the pool object of `record` still holds its bytes: the stored
 * size, and the SHA-256 (from the object's metadata, or by reading it when
 * the metadata has none). Returns the problem, or `undefined`.
 */
export async function poolObjectProblem(
  record: PackageRecord,
  objects: Pick<ObjectStore, "head" | "read">,
): Promise<string | undefined> {
  const head = await objects.head(record.pool_key);
  if (head === undefined) return `its pool object ${record.pool_key} is gone`;
  if (head.size !== record.file_size) {
    return `its pool object ${record.pool_key} holds ${head.size} bytes, not ${record.file_size}`;
  }
  let sha256 = head.sha256;
  if (sha256 === undefined) {
    const body = await objects.read(record.pool_key);
    if (body === undefined) return `its pool object ${record.pool_key} is gone`;
    sha256 = (await hashStream(body)).sha256;
  }
  if (sha256 !== record.sha256_hash) {
    return `its pool object ${record.pool_key} has SHA-256 ${sha256}, not ${record.sha256_hash}`;
  }
  return undefined;
}

/**
 * Withdraws or reinstates the identities `request` names, then publishes once
 * (see the module docs). Throws `NotRecordedError` when nothing matches, and
 * {@linkcode StatusChangeError} when a withdraw has no reason or a reinstated
 * identity's pool object no longer holds its bytes (nothing is changed then).
 */
export async function changeStatus(
  request: StatusChangeRequest,
  deps: StatusChangeDeps,
): Promise<StatusChangeResult> {
  const progress = deps.onProgress ?? (() => {});
  const withdraw = request.action === "withdraw";
  const reason = request.reason?.trim() ?? "";
  if (withdraw && reason === "") {
    throw new StatusChangeError(
      "Cannot withdraw without a reason: give --reason TEXT (it is kept in the record)",
    );
  }
  const chosen = await selectIdentities(request, deps.store, { action: request.action });
  const todo = chosen.filter((record) => isPublished(record) === withdraw);
  const unchanged = chosen.filter((record) => isPublished(record) !== withdraw);
  for (const record of unchanged) {
    progress(
      `${describeIdentity(record)} is already ${withdraw ? "withdrawn" : "published"}`,
    );
  }
  if (!withdraw) {
    const problems: string[] = [];
    for (const record of todo) {
      const problem = await poolObjectProblem(record, deps.objects);
      if (problem !== undefined) problems.push(`${describeIdentity(record)}: ${problem}`);
    }
    if (problems.length > 0) {
      throw new StatusChangeError(
        `Cannot reinstate ${problems.join("; ")}; nothing was changed: add the same .deb again ` +
          "with deno task add-deb (its bytes must match the record)",
      );
    }
  }
  const verb = withdraw ? "Withdrawing" : "Reinstating";
  if (request.dryRun === true) {
    for (const record of todo) progress(`Would ${request.action} ${describeIdentity(record)}`);
    return { changed: todo, unchanged, published: false, dryRun: true };
  }
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const changed: PackageRecord[] = [];
  for (const record of todo) {
    progress(`${verb} ${describeIdentity(record)}`);
    changed.push(
      await deps.store.setStatus(
        record,
        withdraw
          ? { status: "withdrawn", at: now, by: request.by ?? "unknown", reason }
          : { status: "published" },
      ),
    );
  }
  const published = await deps.converge();
  return { changed, unchanged, published, dryRun: false };
}
