/**
 * Choosing the identities a lifecycle command names (`NAME VERSION [--arch
 * ARCH]`): every architecture of the version (any spelling dpkg holds
 * equal), or one.
 *
 * @module
 */

import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import type { PackageStore } from "../../lambda/store/package_store.ts";

/** Which identities: a name, a version (any spelling dpkg holds equal), maybe one architecture. */
export interface IdentitySelection {
  name: string;
  version: string;
  /** Only this architecture (default: every architecture of the version). */
  architecture?: string;
}

/** The selection names nothing recorded. */
export class NotRecordedError extends Error {
  override name = "NotRecordedError";
}

/**
 * The records `selection` names, sorted by architecture. Throws
 * {@linkcode NotRecordedError} naming `options.action` (and `options.where`,
 * the environment) and the architectures that are recorded, when there are none.
 */
export async function selectIdentities(
  selection: IdentitySelection,
  store: Pick<PackageStore, "versionRecords">,
  options: { action: string; where?: string },
): Promise<PackageRecord[]> {
  const all = await store.versionRecords({
    package_name: selection.name,
    version: selection.version,
  });
  const chosen = selection.architecture === undefined
    ? all
    : all.filter((record) => record.architecture === selection.architecture);
  if (chosen.length > 0) return chosen;
  const what = `${selection.name} ${selection.version}` +
    (selection.architecture === undefined ? "" : ` (${selection.architecture})`);
  const others = all.length > 0
    ? `; it is recorded for ${all.map((record) => record.architecture).join(", ")}`
    : "";
  throw new NotRecordedError(
    `Cannot ${options.action} ${what}: it is not recorded` +
      `${options.where === undefined ? "" : ` in ${options.where}`}${others}; see what is with ` +
      `deno task list ${selection.name} --all`,
  );
}
