/**
 * The legacy-table migration (`docs/design.md`, "Migration"): backup → transform → validate →
 * conditional writes → verify → (optionally) drop the legacy items.
 *
 * ## How items are written, and why
 *
 * The migration needs writes that are both *conditional* (an item already in
 * the new table is skipped when equal and reported when different, never
 * overwritten) and *batched* with retries. DynamoDB offers three ways:
 *
 * - `BatchWriteItem` (25 puts per call) cannot carry a condition: a put
 *   replaces whatever has the key. Checking first and batch-writing after
 *   leaves a window in which a concurrent writer (the scheduled Lambda
 *   recording the same Kiro version from the feed) would be silently
 *   overwritten.
 * - `TransactWriteItems` (up to 100 conditional puts) is all-or-nothing: one
 *   existing item cancels the other 99, so re-runs (the normal case for a
 *   resumable migration) degrade to a fallback path anyway; it costs twice
 *   the write capacity; and dynalite, our local DynamoDB, does not implement
 *   it, so the path could never be exercised by the tests.
 * - `PutItem` with `attribute_not_exists(package_id)` is conditional per item,
 *   costs one write, and is implemented identically by DynamoDB and dynalite.
 *
 * So the migration reads in batches and writes conditionally: the target keys
 * are classified with `BatchGetItem` (100 keys per call, strongly consistent,
 * `UnprocessedKeys` retried with exponential backoff and full jitter) into
 * absent / equal (skipped) / different (conflict, or "superseded" when the
 * stored item holds the same `.deb` — see `strict`); only absent items are
 * written, each with a conditional `PutItem`, `concurrency` at a time
 * (throttling retried with backoff). A put that finds its key taken (a writer
 * got there in between) reads the item back and counts it as skipped or as a
 * conflict. A re-run therefore costs reads, not writes, and an interrupted
 * run is finished by running again: nothing is written twice, nothing is
 * overwritten.
 *
 * @module
 */

import {
  canonicalNumber,
  differingAttributes,
  type Item,
  itemFingerprint,
  itemsEqual,
} from "./attribute_value.ts";
import { readBackup, writeBackup } from "./backup.ts";
import { MigrationError } from "./errors.ts";
import {
  batchDelete,
  batchGet,
  describeTableKey,
  type DynamoDbSender,
  forEachConcurrent,
  getItem,
  putIfAbsent,
  type RetryOptions,
  scanAll,
  scanPages,
  type TableKey,
} from "./table_ops.ts";
import type { ControlFields } from "../../lambda/domain/package_record.ts";
import { PoolControlError } from "./pool_control.ts";
import {
  type LegacyDefaults,
  legacyItemName,
  type PoolLayout,
  recordProblems,
  transformAndValidate,
  TransformError,
} from "./transform.ts";

/** The phases a migration reports progress for. */
export type MigrationPhase = "backup" | "scan" | "check" | "write" | "verify" | "drop";

/** A progress report: `done` of `total` units of `phase` (`total` unknown while scanning). */
export interface ProgressEvent {
  phase: MigrationPhase;
  done: number;
  total?: number;
}

/** Options of {@linkcode migrateLegacyTable}. */
export interface MigrateOptions {
  /** The legacy table (key `version`). */
  sourceTable: string;
  /** The packages table (key `package_id`). */
  targetTable: string;
  /** What the transform adds (from `config/packages/kiro.yaml`). */
  defaults: LegacyDefaults;
  /** Default `legacy` (see `transform.ts`). */
  poolLayout?: PoolLayout;
  /** Read and report only: no backup file, no table writes. */
  dryRun?: boolean;
  /** Where to write the backup (must not exist); required unless `dryRun`. */
  backupFile?: string;
  /** Delete the legacy items after a verified run. */
  dropLegacy?: boolean;
  /** Recorded in the backup header. */
  environment?: string;
  /** Conditional puts in flight at once (default 16). */
  concurrency?: number;
  retry?: RetryOptions;
  /** Items per scan page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
  /** Before/after pairs to return (default 3). */
  sampleSize?: number;
  now?: Date;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Checks that the `.deb` of every transformed item is in the bucket at its
   * `pool_key` with its size and hash (e.g. the publisher's `verifyPool`);
   * returns the problems. A real run with problems stops before any table
   * write (the publisher refuses to publish a record whose pool object is
   * missing or different); a dry run reports them. Not called when absent.
   */
  checkPool?: (items: readonly Item[]) => Promise<string[]>;
  /**
   * The control paragraph of the `.deb` at a pool key (see `pool_control.ts`).
   * When given, a legacy item without a `control` attribute gets the `.deb`'s
   * own paragraph instead of one synthesized from the record, so that the
   * `Packages` stanza matches the package; it must agree with the record's
   * Package, Version and Architecture. A real run stops on any `.deb` that
   * cannot be read; a dry run reports it in `poolProblems`.
   */
  controlFor?: (poolKey: string) => Promise<ControlFields>;
  /**
   * Count a new-table item that differs from the transform but holds the same
   * `.deb` (same `sha256_hash`, `file_size` and `architecture` — typically
   * recorded by the scheduled sync before the migration ran) as a conflict.
   * Default `false`: such an item is *superseded*, reported apart, and the
   * migration can complete (the version is in the repository with the same
   * file).
   */
  strict?: boolean;
}

/** How an item found in the new table compares with a legacy item's transform. */
export type Comparison = "equal" | "same-deb" | "different";

/**
 * Compares the item `stored` in the new table with the transform `item` of a
 * legacy item (see {@linkcode MigrateOptions.strict} for `same-deb`).
 */
export function compareWithStored(stored: Item, item: Item): Comparison {
  if (itemsEqual(stored, item)) return "equal";
  const hash = (i: Item) => i.sha256_hash?.S?.toLowerCase();
  const size = (i: Item) =>
    i.file_size?.N === undefined ? undefined : canonicalNumber(i.file_size.N);
  const sameDeb = hash(stored) !== undefined && hash(stored) === hash(item) &&
    size(stored) !== undefined && size(stored) === size(item) &&
    stored.architecture?.S === item.architecture?.S && recordProblems(stored).length === 0;
  return sameDeb ? "same-deb" : "different";
}

/** A new-table item that exists with contents different from the transform. */
export interface ItemConflict {
  packageId: string;
  /** Top-level attributes that differ, sorted. */
  attributes: string[];
}

/** An item whose write failed for a reason of its own (e.g. too large). */
export interface ItemFailure {
  packageId: string;
  message: string;
}

/** The outcome of {@linkcode verifyMigration}. */
export interface VerifyReport {
  /** Legacy items found by the verification scan. */
  legacyCount: number;
  /** Legacy items whose new item exists and equals their transform. */
  verified: number;
  /** `package_id`s with no item in the new table. */
  missing: string[];
  /** New items that differ from their legacy item's transform (and, unless strict, hold another .deb). */
  different: ItemConflict[];
  /** New items that differ from the transform but hold the same `.deb` (not strict). */
  superseded: ItemConflict[];
  /** Every legacy item is migrated with equal contents. */
  complete: boolean;
  /** The legacy items the verification read (for dropping them). */
  legacyItems: Item[];
}

/** The outcome of {@linkcode migrateLegacyTable}. */
export interface MigrationSummary {
  dryRun: boolean;
  sourceTable: string;
  targetTable: string;
  /** The backup written (real runs). */
  backupFile?: string;
  /** Legacy items read. */
  total: number;
  /** Items written to the new table (dry run: that would be written). */
  migrated: number;
  /** Items already in the new table with equal contents. */
  skipped: number;
  /** Items already in the new table, differing but with the same `.deb` (not strict). */
  superseded: ItemConflict[];
  conflicts: ItemConflict[];
  errors: ItemFailure[];
  /** Up to `sampleSize` legacy items and their transforms. */
  samples: { before: Item; after: Item }[];
  /** The verification after the writes (real runs). */
  verification?: VerifyReport;
  /** Legacy items deleted (`dropLegacy`). */
  legacyDropped: number;
  /** What `checkPool` found (dry runs; a real run stops on them). */
  poolProblems: string[];
  /** Real run: verified complete. Dry run: nothing would stop a real run. */
  complete: boolean;
}

const LEGACY_KEY = "version";
const TARGET_KEY = "package_id";
const TARGET_SORT_KEY = "architecture";

/**
 * Checks that both tables exist and have the expected keys.
 *
 * @throws {MigrationError} `source-table-missing`, `target-table-missing`, `wrong-key-schema`.
 */
export async function checkTables(
  client: DynamoDbSender,
  options: { sourceTable: string; targetTable: string; retry?: RetryOptions },
): Promise<{ source: TableKey; target: TableKey }> {
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  const [source, target] = await Promise.all([
    describeTableKey(client, options.sourceTable, retry),
    describeTableKey(client, options.targetTable, retry),
  ]);
  if (source === undefined) {
    throw new MigrationError(
      "source-table-missing",
      `Legacy table ${options.sourceTable} does not exist: check --source-table or the stack's legacyTableName (for the local demo run deno task seed-legacy --env local)`,
    );
  }
  if (target === undefined) {
    throw new MigrationError(
      "target-table-missing",
      `Packages table ${options.targetTable} does not exist: deploy the stack first (pulumi up -s ENV, or deno task dev for local)`,
    );
  }
  if (source.name !== LEGACY_KEY || source.sortKey !== undefined) {
    throw new MigrationError(
      "wrong-key-schema",
      `Table ${options.sourceTable} is keyed by ${source.name}, not ${LEGACY_KEY}: it is not the legacy table; check --source-table`,
    );
  }
  if (target.name !== TARGET_KEY || target.sortKey !== TARGET_SORT_KEY) {
    const key = target.sortKey === undefined ? target.name : `${target.name} + ${target.sortKey}`;
    throw new MigrationError(
      "wrong-key-schema",
      `Table ${options.targetTable} is keyed by ${key}, not ${TARGET_KEY} + ${TARGET_SORT_KEY}: it is not a packages table of this version (an older one was keyed by ${TARGET_KEY} alone: deploy the current stack)`,
    );
  }
  return { source, target };
}

/** `package_id` of a transformed item. */
function idOf(item: Item): string {
  return item[TARGET_KEY]?.S ?? "";
}

/** The identity (partition and sort key) of a transformed item, as one string. */
function identityOf(item: Item): string {
  return `${idOf(item)} (${item[TARGET_SORT_KEY]?.S ?? ""})`;
}

function targetKey(item: Item): Item {
  return {
    [TARGET_KEY]: { S: idOf(item) },
    [TARGET_SORT_KEY]: { S: item[TARGET_SORT_KEY]?.S ?? "" },
  };
}

/**
 * Transforms and validates every legacy item; throws for the first items
 * that fail (all named), and for two legacy items that map to one `package_id`.
 */
export function transformAll(
  items: readonly Item[],
  options: { defaults: LegacyDefaults; poolLayout?: PoolLayout },
): Item[] {
  const failures: TransformError[] = [];
  const out: Item[] = [];
  const seen = new Map<string, string>();
  for (const item of items) {
    try {
      const transformed = transformAndValidate(item, options);
      const id = identityOf(transformed);
      const other = seen.get(id);
      if (other !== undefined) {
        failures.push(
          new TransformError(legacyItemName(item), [
            `its identity ${id} is also the identity of legacy item ${other} (dpkg holds ` +
            "their versions equal): keep one of them in the legacy table",
          ]),
        );
      }
      seen.set(id, legacyItemName(item));
      out.push(transformed);
    } catch (error) {
      if (!(error instanceof TransformError)) throw error;
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failuresError(failures);
  return out;
}

function failuresError(failures: readonly TransformError[]): MigrationError {
  if (failures.length === 1) return failures[0] as TransformError;
  const shown = failures.slice(0, 10).map((failure) => `- ${failure.message}`);
  const more = failures.length > 10 ? [`- … and ${failures.length - 10} more`] : [];
  return new MigrationError(
    "transform",
    `Cannot migrate ${failures.length} legacy items; nothing was written to any table; fix them and run again:\n${
      [...shown, ...more].join("\n")
    }`,
  );
}

/**
 * Replaces the synthesized control paragraph of every transformed item whose
 * legacy item had none with the `.deb`'s own (via `controlFor`), and checks
 * the result again. Returns the items and the failures (one per item).
 */
export async function applyPoolControls(
  legacyItems: readonly Item[],
  transformed: readonly Item[],
  options: { controlFor: (poolKey: string) => Promise<ControlFields>; concurrency?: number },
): Promise<{ items: Item[]; failures: TransformError[] }> {
  const items = [...transformed];
  const failures: TransformError[] = [];
  await forEachConcurrent(items, async (item, i) => {
    if (legacyItems[i]?.control !== undefined) return;
    const poolKey = item.pool_key?.S ?? "";
    const name = legacyItemName(legacyItems[i] as Item);
    let control: ControlFields;
    try {
      control = await options.controlFor(poolKey);
    } catch (error) {
      if (!(error instanceof PoolControlError)) throw error;
      failures.push(
        new TransformError(name, [
          `cannot read the control paragraph of its .deb: ${error.message}`,
        ]),
      );
      return;
    }
    const withControl: Item = { ...item, control: { M: {} } };
    for (const [field, value] of Object.entries(control)) {
      (withControl.control?.M as Item)[field] = { S: value };
    }
    const problems = recordProblems(withControl);
    if (problems.length > 0) {
      failures.push(
        new TransformError(
          name,
          problems.map((problem) => `with the control paragraph of ${poolKey}: ${problem}`),
        ),
      );
      return;
    }
    items[i] = withControl;
  }, { concurrency: options.concurrency ?? 8 });
  return { items, failures };
}

/** Sorts transformed items by what the new table already holds. */
async function classify(
  client: DynamoDbSender,
  items: readonly Item[],
  options: { targetTable: string; target: TableKey; retry?: RetryOptions; strict?: boolean },
): Promise<
  { absent: Item[]; equal: number; superseded: ItemConflict[]; conflicts: ItemConflict[] }
> {
  const existing = await batchGet(client, options.targetTable, items.map(targetKey), {
    key: options.target,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  });
  const absent: Item[] = [];
  const conflicts: ItemConflict[] = [];
  const superseded: ItemConflict[] = [];
  let equal = 0;
  for (const item of items) {
    const stored = existing.get(itemFingerprint(targetKey(item)));
    if (stored === undefined) {
      absent.push(item);
      continue;
    }
    const comparison = compareWithStored(stored, item);
    if (comparison === "equal") equal++;
    else {
      const entry = { packageId: idOf(item), attributes: differingAttributes(stored, item) };
      if (comparison === "same-deb" && options.strict !== true) superseded.push(entry);
      else conflicts.push(entry);
    }
  }
  return { absent, equal, superseded, conflicts };
}

/** Options of {@linkcode verifyMigration}. */
export interface VerifyOptions {
  sourceTable: string;
  targetTable: string;
  defaults: LegacyDefaults;
  poolLayout?: PoolLayout;
  retry?: RetryOptions;
  pageSize?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** As in {@linkcode MigrateOptions.controlFor}: must be the same as the migration's. */
  controlFor?: (poolKey: string) => Promise<ControlFields>;
  /** As in {@linkcode MigrateOptions.strict}. */
  strict?: boolean;
}

/**
 * Reads the legacy table again and checks that every legacy item has its new
 * item, equal to its transform (`docs/migration.md`, "What a run does").
 */
export async function verifyMigration(
  client: DynamoDbSender,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const { target } = await checkTables(client, options);
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  const legacyItems = await scanAll(client, options.sourceTable, {
    ...retry,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  let transformed = transformAll(legacyItems, options);
  if (options.controlFor !== undefined) {
    const applied = await applyPoolControls(legacyItems, transformed, {
      controlFor: options.controlFor,
    });
    if (applied.failures.length > 0) throw failuresError(applied.failures);
    transformed = applied.items;
  }
  options.onProgress?.({ phase: "verify", done: 0, total: transformed.length });
  const stored = await batchGet(client, options.targetTable, transformed.map(targetKey), {
    key: target,
    ...retry,
  });
  const missing: string[] = [];
  const different: ItemConflict[] = [];
  const superseded: ItemConflict[] = [];
  let verified = 0;
  for (const item of transformed) {
    const found = stored.get(itemFingerprint(targetKey(item)));
    if (found === undefined) {
      missing.push(idOf(item));
      continue;
    }
    const comparison = compareWithStored(found, item);
    if (comparison === "equal") verified++;
    else {
      const entry = { packageId: idOf(item), attributes: differingAttributes(found, item) };
      if (comparison === "same-deb" && options.strict !== true) superseded.push(entry);
      else different.push(entry);
    }
  }
  options.onProgress?.({ phase: "verify", done: transformed.length, total: transformed.length });
  return {
    legacyCount: legacyItems.length,
    verified,
    missing: missing.sort(),
    different,
    superseded,
    complete: missing.length === 0 && different.length === 0,
    legacyItems,
  };
}

function isItemError(error: unknown): boolean {
  // Errors about this one item (too large, invalid attribute value); anything
  // else (network, credentials, throttling after retries) stops the run.
  return error instanceof Error && error.name === "ValidationException";
}

/**
 * Migrates the legacy table into the packages table (see the module notes).
 *
 * Real run: checks both tables, writes and re-reads the backup, transforms
 * and validates every backed-up item (stopping, with nothing written, at any
 * item that fails), writes the missing items conditionally, verifies, and
 * with `dropLegacy` deletes the legacy items when the verification passed.
 *
 * Dry run: checks the tables, scans, transforms, validates and classifies —
 * no backup file and no table writes.
 *
 * @throws {MigrationError} for the failures that stop a run (missing tables,
 *   backup path, untransformable items, exhausted retries).
 */
export async function migrateLegacyTable(
  client: DynamoDbSender,
  options: MigrateOptions,
): Promise<MigrationSummary> {
  const dryRun = options.dryRun === true;
  if (dryRun && options.backupFile !== undefined) {
    throw new MigrationError(
      "usage",
      "A dry run writes nothing, not even a backup: drop --backup-file or --dry-run",
    );
  }
  if (dryRun && options.dropLegacy === true) {
    throw new MigrationError("usage", "A dry run deletes nothing: drop --drop-legacy or --dry-run");
  }
  if (!dryRun && options.backupFile === undefined) {
    throw new MigrationError("usage", "A migration needs a backup file: give --backup-file");
  }
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  const paging = options.pageSize === undefined ? {} : { pageSize: options.pageSize };
  const progress = options.onProgress ?? (() => {});
  const { source, target } = await checkTables(client, options);

  let legacyItems: Item[];
  if (dryRun) {
    legacyItems = [];
    progress({ phase: "scan", done: 0 });
    for await (const page of scanPages(client, options.sourceTable, { ...retry, ...paging })) {
      legacyItems.push(...page);
      progress({ phase: "scan", done: legacyItems.length });
    }
  } else {
    const backup = await writeBackup(client, options.sourceTable, {
      file: options.backupFile as string,
      key: source,
      ...(options.environment === undefined ? {} : { environment: options.environment }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...retry,
      ...paging,
      onProgress: (done) => progress({ phase: "backup", done }),
    });
    legacyItems = backup.items;
  }

  let transformed = transformAll(legacyItems, options);
  const poolProblems = options.checkPool === undefined ? [] : await options.checkPool(transformed);
  if (!dryRun && poolProblems.length > 0) {
    const shown = poolProblems.slice(0, 10).map((problem) => `- ${problem}`);
    if (poolProblems.length > 10) shown.push(`- … and ${poolProblems.length - 10} more`);
    throw new MigrationError(
      "pool",
      `Cannot migrate: ${poolProblems.length} records would point at pool objects that are missing or differ (the publisher would refuse them); nothing was written to any table; check --pool-layout or copy the objects:\n${
        shown.join("\n")
      }`,
    );
  }
  if (options.controlFor !== undefined) {
    const applied = await applyPoolControls(legacyItems, transformed, {
      controlFor: options.controlFor,
    });
    if (!dryRun && applied.failures.length > 0) throw failuresError(applied.failures);
    poolProblems.push(...applied.failures.map((failure) => failure.message));
    transformed = applied.items;
  }
  const samples = legacyItems.slice(0, options.sampleSize ?? 3).map((before, i) => ({
    before,
    after: transformed[i] as Item,
  }));
  progress({ phase: "check", done: 0, total: transformed.length });
  const classified = await classify(client, transformed, {
    targetTable: options.targetTable,
    target,
    ...retry,
    ...(options.strict === undefined ? {} : { strict: options.strict }),
  });
  progress({ phase: "check", done: transformed.length, total: transformed.length });

  const summary: MigrationSummary = {
    dryRun,
    sourceTable: options.sourceTable,
    targetTable: options.targetTable,
    ...(options.backupFile === undefined ? {} : { backupFile: options.backupFile }),
    total: legacyItems.length,
    migrated: 0,
    skipped: classified.equal,
    superseded: classified.superseded,
    conflicts: classified.conflicts,
    errors: [],
    samples,
    legacyDropped: 0,
    poolProblems,
    complete: false,
  };
  if (dryRun) {
    summary.migrated = classified.absent.length;
    summary.complete = classified.conflicts.length === 0 && poolProblems.length === 0;
    return summary;
  }

  let written = 0;
  progress({ phase: "write", done: 0, total: classified.absent.length });
  await forEachConcurrent(classified.absent, async (item) => {
    try {
      const outcome = await putIfAbsent(client, options.targetTable, item, {
        key: target,
        ...retry,
      });
      if (outcome === "written") summary.migrated++;
      else {
        const stored = await getItem(client, options.targetTable, targetKey(item), retry);
        const comparison = stored === undefined ? "different" : compareWithStored(stored, item);
        const entry = {
          packageId: idOf(item),
          attributes: stored === undefined
            ? ["(deleted meanwhile)"]
            : differingAttributes(stored, item),
        };
        if (comparison === "equal") summary.skipped++;
        else if (comparison === "same-deb" && options.strict !== true) {
          summary.superseded.push(entry);
        } else summary.conflicts.push(entry);
      }
    } catch (error) {
      if (!isItemError(error)) throw error;
      summary.errors.push({ packageId: idOf(item), message: (error as Error).message });
    }
    progress({ phase: "write", done: ++written, total: classified.absent.length });
  }, { concurrency: options.concurrency ?? 16 });

  const verification = await verifyMigration(client, {
    sourceTable: options.sourceTable,
    targetTable: options.targetTable,
    defaults: options.defaults,
    ...(options.poolLayout === undefined ? {} : { poolLayout: options.poolLayout }),
    ...retry,
    ...paging,
    onProgress: progress,
    ...(options.controlFor === undefined ? {} : { controlFor: options.controlFor }),
    ...(options.strict === undefined ? {} : { strict: options.strict }),
  });
  summary.verification = verification;
  summary.complete = verification.complete && summary.errors.length === 0;

  if (options.dropLegacy === true && summary.complete) {
    summary.legacyDropped = await dropLegacyItems(client, {
      sourceTable: options.sourceTable,
      backupFile: options.backupFile as string,
      legacyItems: verification.legacyItems,
      ...retry,
      onProgress: progress,
    });
  }
  return summary;
}

/**
 * Deletes the verified legacy items, after checking that the backup on disk
 * still holds every one of them with equal contents (an item added or changed
 * since the backup is never deleted: the run stops instead).
 *
 * @throws {MigrationError} `backup-mismatch` when an item is not in the backup.
 */
export async function dropLegacyItems(
  client: DynamoDbSender,
  options: {
    sourceTable: string;
    backupFile: string;
    legacyItems: readonly Item[];
    retry?: RetryOptions;
    onProgress?: (event: ProgressEvent) => void;
  },
): Promise<number> {
  const backup = await readBackup(options.backupFile);
  const backedUp = new Set(backup.items.map(itemFingerprint));
  const notBackedUp = options.legacyItems.filter((item) => !backedUp.has(itemFingerprint(item)));
  if (notBackedUp.length > 0) {
    throw new MigrationError(
      "backup-mismatch",
      `Not dropping the legacy table: ${notBackedUp.length} items (first: ${
        legacyItemName(notBackedUp[0] as Item)
      }) changed or appeared after the backup ${options.backupFile} was taken; run the migration again`,
    );
  }
  let deleted = 0;
  const total = options.legacyItems.length;
  options.onProgress?.({ phase: "drop", done: 0, total });
  await batchDelete(
    client,
    options.sourceTable,
    options.legacyItems.map((item) => ({ [LEGACY_KEY]: item[LEGACY_KEY] as Item[string] })),
    {
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      onDeleted: (count) => {
        deleted += count;
        options.onProgress?.({ phase: "drop", done: deleted, total });
      },
    },
  );
  return deleted;
}
