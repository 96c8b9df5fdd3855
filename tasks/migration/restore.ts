/**
 * Puts a backup (see `backup.ts`) back into a table, exactly: every item with
 * its attribute types as they were (numbers, sets, binary, nested maps).
 *
 * The whole file is read and checked first, and every item is checked to
 * carry the target table's key, so a malformed backup or the wrong table
 * writes nothing. Items are written with `attribute_not_exists(key)`: an item
 * already there with equal contents is skipped, one with different contents
 * is reported as a conflict and left alone — unless `overwrite` is given.
 *
 * @module
 */

import { differingAttributes, type Item, itemsEqual } from "./attribute_value.ts";
import { type Backup, readBackup } from "./backup.ts";
import { MigrationError } from "./errors.ts";
import type { ItemConflict, ProgressEvent } from "./migrate.ts";
import {
  describeTableKey,
  type DynamoDbSender,
  forEachConcurrent,
  getItem,
  keyOf,
  putIfAbsent,
  putItem,
  type RetryOptions,
  type TableKey,
} from "./table_ops.ts";

/** Options of {@linkcode restoreBackup}. */
export interface RestoreOptions {
  /** The table to restore into. */
  table: string;
  /** Replace items whose contents differ from the backup (default: report them). */
  overwrite?: boolean;
  /** Puts in flight at once (default 16). */
  concurrency?: number;
  retry?: RetryOptions;
  onProgress?: (event: ProgressEvent) => void;
}

/** The outcome of {@linkcode restoreBackup}. */
export interface RestoreSummary {
  table: string;
  /** Items in the backup. */
  total: number;
  /** Items written where none was. */
  restored: number;
  /** Items already there with equal contents. */
  skipped: number;
  /** Items replaced (`overwrite`). */
  replaced: number;
  /** Items there with different contents, left alone (no `overwrite`). */
  conflicts: ItemConflict[];
}

function keyText(item: Item, key: TableKey): string {
  const value = item[key.name];
  return value?.S ?? value?.N ?? JSON.stringify(value);
}

function checkKeys(file: string, backup: Backup, table: string, key: TableKey): void {
  const bad = backup.items.findIndex((item) => {
    const value = item[key.name];
    if (value === undefined || !(key.type in value)) return true;
    return key.sortKey !== undefined && item[key.sortKey] === undefined;
  });
  if (bad >= 0) {
    throw new MigrationError(
      "key-missing",
      `Cannot restore ${file} into ${table}: item ${bad + 1} (line ${
        bad + 2
      }) has no ${key.name} attribute of type ${key.type}, the table's key; the backup is of ${backup.header.table} (key ${backup.header.key.name}) — choose the matching --into (legacy or new)`,
    );
  }
}

function describeKey(item: Item, key: TableKey): string {
  const parts = [`${key.name} ${keyText(item, key)}`];
  if (key.sortKey !== undefined) {
    const range = item[key.sortKey];
    parts.push(`${key.sortKey} ${range?.S ?? range?.N ?? JSON.stringify(range)}`);
  }
  return parts.join(", ");
}

/** A backup holds each key once: a second item with the same key means the file is damaged. */
function checkDuplicateKeys(file: string, backup: Backup, key: TableKey): void {
  const firstLine = new Map<string, number>();
  backup.items.forEach((item, i) => {
    const text = JSON.stringify(keyOf(item, key));
    const first = firstLine.get(text);
    if (first !== undefined) {
      throw new MigrationError(
        "backup-malformed",
        `Backup file ${file} is malformed at line ${i + 2}: it holds the key ${
          describeKey(item, key)
        } again (first at line ${first}); a backup holds each item once, so it was not written by deno task migrate or has been damaged`,
      );
    }
    firstLine.set(text, i + 2);
  });
}

/**
 * Restores `file` into `options.table` (see the module notes).
 *
 * @throws {MigrationError} `backup-path`/`backup-malformed` for the file (a
 *   key held twice included),
 *   `target-table-missing` when the table does not exist, `key-missing` when
 *   an item lacks the table's key — in each case before anything is written.
 */
export async function restoreBackup(
  client: DynamoDbSender,
  file: string,
  options: RestoreOptions,
): Promise<RestoreSummary> {
  const backup = await readBackup(file);
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  const key = await describeTableKey(client, options.table, retry);
  if (key === undefined) {
    throw new MigrationError(
      "target-table-missing",
      `Cannot restore into ${options.table}: the table does not exist; create it first (deploy the stack, or deno task seed-legacy --env local --count 0 for the local legacy table)`,
    );
  }
  checkKeys(file, backup, options.table, key);
  checkDuplicateKeys(file, backup, key);
  const summary: RestoreSummary = {
    table: options.table,
    total: backup.items.length,
    restored: 0,
    skipped: 0,
    replaced: 0,
    conflicts: [],
  };
  let done = 0;
  options.onProgress?.({ phase: "write", done, total: summary.total });
  await forEachConcurrent(backup.items, async (item) => {
    const outcome = await putIfAbsent(client, options.table, item, { key, ...retry });
    if (outcome === "written") summary.restored++;
    else {
      const stored = await getItem(client, options.table, keyOf(item, key), retry);
      if (stored !== undefined && itemsEqual(stored, item)) summary.skipped++;
      else if (options.overwrite === true) {
        await putItem(client, options.table, item, retry);
        summary.replaced++;
      } else {
        summary.conflicts.push({
          packageId: keyText(item, key),
          attributes: stored === undefined
            ? ["(deleted meanwhile)"]
            : differingAttributes(stored, item),
        });
      }
    }
    options.onProgress?.({ phase: "write", done: ++done, total: summary.total });
  }, { concurrency: options.concurrency ?? 16 });
  return summary;
}
