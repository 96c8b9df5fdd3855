/**
 * What the migration takes from the rest of the system: the package's
 * defaults from its configuration file, and the publisher's pool check.
 *
 * @module
 */

import { verifyPool } from "../../lambda/publish/pool_check.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import {
  ConfigError,
  DEFAULT_CONFIG_DIR,
  loadPackageConfigs,
} from "../../lambda/sources/config.ts";
import type { Item } from "./attribute_value.ts";
import { type LegacyDefaults, legacyDefaults, recordFromItem } from "./transform.ts";

/**
 * The transform's defaults for `packageName` (default `kiro`), read and
 * validated with the sources loader from `dir` (default `config/packages`).
 *
 * @throws {ConfigError} when the configurations are invalid or none is for `packageName`.
 */
export async function loadLegacyDefaults(
  dir: string = DEFAULT_CONFIG_DIR,
  options: { packageName?: string } = {},
): Promise<LegacyDefaults> {
  const name = options.packageName ?? "kiro";
  const configs = await loadPackageConfigs(dir);
  const found = configs.find((loaded) => loaded.config.package_name === name);
  if (found === undefined) {
    throw new ConfigError([
      `Cannot read ${dir}: no configuration has package_name ${name} (found ${
        configs.map((loaded) => loaded.config.package_name).join(", ")
      })`,
    ]);
  }
  return legacyDefaults(found.config);
}

/**
 * A `checkPool` for {@linkcode migrateLegacyTable}: the publisher's own
 * check ({@linkcode verifyPool}) of the records the items hold, against the
 * repository bucket.
 */
export function poolChecker(objects: ObjectStore): (items: readonly Item[]) => Promise<string[]> {
  return (items) => verifyPool(items.map(recordFromItem), objects);
}
