/**
 * Table backups as JSON Lines, exact to the type.
 *
 * A backup file is:
 *
 * ```
 * {"Backup":{"format":"kiro-dynamodb-backup","formatVersion":1,"table":"…","key":{"name":"version","type":"S"},"environment":"dev","createdAt":"2026-…Z"}}
 * {"Item":{"version":{"S":"1.0.337"},"file_size":{"N":"123"},…}}
 * …one line per item…
 * {"End":{"count":42}}
 * ```
 *
 * Item lines use the DynamoDB JSON of DynamoDB's own export to S3 and of the
 * AWS CLI (numbers as decimal text, binary as base64, sets as arrays), so a
 * line can also be fed to `aws dynamodb put-item --item`. The `End` line
 * shows that the file is complete: a file cut short is refused on restore.
 *
 * @module
 */

import { open, readFile, unlink } from "node:fs/promises";
import { decodeItem, encodeItem, type Item, itemFingerprint } from "./attribute_value.ts";
import { MigrationError } from "./errors.ts";
import { type DynamoDbSender, type RetryOptions, scanPages, type TableKey } from "./table_ops.ts";

/** The first line of a backup file. */
export interface BackupHeader {
  format: "kiro-dynamodb-backup";
  formatVersion: 1;
  /** The table the items were read from. */
  table: string;
  /** That table's partition key. */
  key: { name: string; type: string };
  /** The environment (`local`, `dev`, `prod`), when known. */
  environment?: string;
  /** When the scan started (ISO 8601, UTC). */
  createdAt: string;
}

/** A backup read back from disk. */
export interface Backup {
  header: BackupHeader;
  items: Item[];
}

/**
 * The default backup file name for `environment`: `backups/` + environment +
 * UTC timestamp, e.g. `backups/legacy-dev-20260115T143022Z.jsonl`.
 */
export function defaultBackupFile(environment: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `backups/legacy-${environment}-${stamp}.jsonl`;
}

function fsCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

/**
 * Creates `file` for a new backup, refusing to replace an existing one.
 *
 * @throws {MigrationError} `backup-exists` or `backup-path`, before any table is read.
 */
export async function createBackupFile(file: string) {
  try {
    return await open(file, "wx");
  } catch (error) {
    const code = fsCode(error);
    if (code === "EEXIST") {
      throw new MigrationError(
        "backup-exists",
        `Backup file ${file} already exists: choose another --backup-file (an existing backup is never overwritten)`,
        { cause: error },
      );
    }
    if (
      code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EISDIR" ||
      code === "EROFS"
    ) {
      const why = code === "ENOENT" || code === "ENOTDIR"
        ? "its folder does not exist"
        : code === "EISDIR"
        ? "it is a folder"
        : "permission denied";
      throw new MigrationError(
        "backup-path",
        `Cannot create backup file ${file}: ${why} (${code}); choose a writable --backup-file`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Options of {@linkcode writeBackup}. */
export interface WriteBackupOptions {
  /** Where to write; must not exist yet. */
  file: string;
  /** The table's partition key (from {@linkcode describeTableKey}). */
  key: TableKey;
  environment?: string;
  now?: Date;
  retry?: RetryOptions;
  /** Items per scan page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
  /** Called with the number of items written so far. */
  onProgress?: (count: number) => void;
}

/**
 * Scans every item of `table` (paginated, strongly consistent) into a new
 * backup file, flushes it to disk, reads it back and checks that it holds
 * exactly the items scanned. Returns those items, as read back from disk.
 *
 * A file that cannot be completed is removed (it was created by this call).
 *
 * @throws {MigrationError} `backup-exists`/`backup-path` before reading the
 *   table, `backup-mismatch` when the file read back differs from the scan.
 */
export async function writeBackup(
  client: DynamoDbSender,
  table: string,
  options: WriteBackupOptions,
): Promise<Backup> {
  const handle = await createBackupFile(options.file);
  const header: BackupHeader = {
    format: "kiro-dynamodb-backup",
    formatVersion: 1,
    table,
    key: { name: options.key.name, type: options.key.type },
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  const scanned: string[] = [];
  let complete = false;
  try {
    await handle.write(`${JSON.stringify({ Backup: header })}\n`);
    const pageOptions = {
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    };
    for await (const page of scanPages(client, table, pageOptions)) {
      if (page.length === 0) continue;
      const lines = page.map((item) => `${JSON.stringify({ Item: encodeItem(item) })}\n`);
      await handle.write(lines.join(""));
      for (const item of page) scanned.push(itemFingerprint(item));
      options.onProgress?.(scanned.length);
    }
    await handle.write(`${JSON.stringify({ End: { count: scanned.length } })}\n`);
    await handle.sync();
    complete = true;
  } finally {
    await handle.close();
    if (!complete) await unlink(options.file).catch(() => {});
  }
  const backup = await readBackup(options.file);
  const mismatch = backup.items.findIndex((item, i) => itemFingerprint(item) !== scanned[i]);
  if (backup.items.length !== scanned.length || mismatch >= 0) {
    throw new MigrationError(
      "backup-mismatch",
      `Backup file ${options.file} read back ${backup.items.length} items (first difference at item ${
        mismatch >= 0 ? mismatch + 1 : backup.items.length + 1
      }) but ${scanned.length} were scanned from ${table}: the disk may be full or the file was changed; nothing was written to any table`,
    );
  }
  return backup;
}

function malformed(file: string, line: number, what: string): MigrationError {
  return new MigrationError(
    "backup-malformed",
    `Backup file ${file} is malformed at line ${line}: ${what}; it was not written by deno task migrate or has been damaged`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseHeader(file: string, value: unknown): BackupHeader {
  if (!isRecord(value) || !isRecord(value.Backup)) {
    throw malformed(file, 1, 'the first line must be the {"Backup": {…}} header');
  }
  const header = value.Backup;
  if (header.format !== "kiro-dynamodb-backup" || header.formatVersion !== 1) {
    throw malformed(file, 1, "unknown format (expected kiro-dynamodb-backup, formatVersion 1)");
  }
  const key = header.key;
  if (
    typeof header.table !== "string" || typeof header.createdAt !== "string" || !isRecord(key) ||
    typeof key.name !== "string" || typeof key.type !== "string" ||
    (header.environment !== undefined && typeof header.environment !== "string")
  ) {
    throw malformed(file, 1, "the header needs table, key {name, type} and createdAt");
  }
  return {
    format: "kiro-dynamodb-backup",
    formatVersion: 1,
    table: header.table,
    key: { name: key.name, type: key.type },
    ...(typeof header.environment === "string" ? { environment: header.environment } : {}),
    createdAt: header.createdAt,
  };
}

/**
 * Reads and checks a whole backup file: the header, every item line (each
 * value a well-formed DynamoDB JSON value, the key attribute present with its
 * type), and the `End` line with the item count.
 *
 * @throws {MigrationError} `backup-path` when the file cannot be read,
 *   `backup-malformed` naming the line when anything is wrong.
 */
export async function readBackup(file: string): Promise<Backup> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = fsCode(error);
    if (code === undefined) throw error;
    throw new MigrationError(
      "backup-path",
      `Cannot read backup file ${file}: ${code === "ENOENT" ? "it does not exist" : code}`,
      { cause: error },
    );
  }
  if (!text.endsWith("\n")) throw malformed(file, text.split("\n").length, "the file is cut short");
  const lines = text.slice(0, -1).split("\n");
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw malformed(file, i + 1, "not valid JSON");
    }
  });
  const header = parseHeader(file, parsed[0]);
  const last = parsed[parsed.length - 1];
  if (parsed.length < 2 || !isRecord(last) || !isRecord(last.End)) {
    throw malformed(
      file,
      lines.length,
      'the last line must be {"End": {"count": N}} (file cut short?)',
    );
  }
  const items: Item[] = [];
  for (let i = 1; i < parsed.length - 1; i++) {
    const entry = parsed[i];
    if (!isRecord(entry) || Object.keys(entry).length !== 1 || !isRecord(entry.Item)) {
      throw malformed(file, i + 1, 'an item line must be {"Item": {…}}');
    }
    let item: Item;
    try {
      item = decodeItem(entry.Item);
    } catch (error) {
      if (error instanceof Error && error.name === "AttributeFormatError") {
        throw malformed(file, i + 1, error.message);
      }
      throw error;
    }
    const keyValue = item[header.key.name];
    if (keyValue === undefined || !(header.key.type in keyValue)) {
      throw malformed(
        file,
        i + 1,
        `the item has no ${header.key.name} key of type ${header.key.type}`,
      );
    }
    items.push(item);
  }
  if (last.End.count !== items.length) {
    throw malformed(
      file,
      lines.length,
      `the End line counts ${String(last.End.count)} items but the file holds ${items.length}`,
    );
  }
  return { header, items };
}
