/**
 * The package store: the packages table, DynamoDB's single source of truth
 * (DESIGN.md §5).
 *
 * A version, once recorded, is immutable. {@linkcode PackageStore.put} writes
 * with `attribute_not_exists(package_id)`; when the item already exists it
 * compares the stored record with the new one:
 *
 * - same repository content → a no-op, `"unchanged"` (the stored record, with
 *   its first `processed_timestamp`, stays);
 * - different repository content → {@linkcode RecordConflictError}.
 *
 * "Repository content" is every field except the provenance fields in
 * {@linkcode PROVENANCE_FIELDS}: when the record was written, where the file
 * was fetched from and under which file name, its upstream date, how it
 * arrived, and the notes/links. Those do not reach the repository, so
 * re-recording the same `.deb` from another URL or another staging path is the
 * same version. Everything else — the hashes and size (the bytes), the pool
 * key, the architecture, the control paragraph and the stanza fields — must be
 * identical, or the version would mean two different things.
 *
 * @module
 */

import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { packageId, type PackageRecord } from "../domain/package_record.ts";
import { compareVersions } from "../domain/version.ts";
import { PACKAGE_NAME_INDEX, RESERVED_KEY_PREFIX } from "./table.ts";

export { PACKAGE_NAME_INDEX, packagesTableDefinition, RESERVED_KEY_PREFIX } from "./table.ts";

/** Fields that describe where a record came from, not what the repository serves. */
export const PROVENANCE_FIELDS: readonly (keyof PackageRecord)[] = [
  "processed_timestamp",
  "pub_date",
  "deb_url",
  "actual_filename",
  "package_type",
  "certificate_url",
  "signature_url",
  "notes",
];

/** The outcome of {@linkcode PackageStore.put}. */
export type PutResult = "created" | "unchanged";

/** A different record already exists under the same `package_id`. */
export class RecordConflictError extends Error {
  override name = "RecordConflictError";
  /** The `package_id` both records share. */
  readonly packageId: string;
  /** The repository-content fields that differ, sorted. */
  readonly fields: readonly string[];
  /** The record already in the table. */
  readonly existing: PackageRecord;

  constructor(existing: PackageRecord, fields: readonly string[]) {
    super(
      `Cannot record ${existing.package_id}: a different ${existing.package_name} ` +
        `${existing.version} is already recorded (differs in ${fields.join(", ")}); ` +
        `recorded versions are immutable: publish the new build under a new version`,
    );
    this.packageId = existing.package_id;
    this.fields = fields;
    this.existing = existing;
  }
}

/** A record given to {@linkcode PackageStore.put} is not a valid package record. */
export class InvalidRecordError extends Error {
  override name = "InvalidRecordError";
}

/** The read and write options of a {@linkcode PackageStore}. */
export interface PackageStoreOptions {
  /** Read-after-write reads for `get`/`has`/`listAll` (default true). */
  consistentRead?: boolean;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/**
 * The repository-content fields in which `a` and `b` differ (provenance
 * fields ignored), sorted; empty when they are the same version.
 */
export function differingFields(a: PackageRecord, b: PackageRecord): string[] {
  const ignored = new Set<string>(PROVENANCE_FIELDS);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const differ: string[] = [];
  for (const key of keys) {
    if (ignored.has(key)) continue;
    const left = (a as unknown as Record<string, unknown>)[key];
    const right = (b as unknown as Record<string, unknown>)[key];
    if (canonical(left) !== canonical(right)) differ.push(key);
  }
  return differ.sort();
}

function checkRecord(record: PackageRecord): void {
  const what = `package record ${JSON.stringify(record.package_id)}`;
  for (const field of ["package_id", "package_name", "version", "sha256_hash"] as const) {
    if (typeof record[field] !== "string" || record[field] === "") {
      throw new InvalidRecordError(
        `Cannot record the ${what}: ${field} must be a non-empty string`,
      );
    }
  }
  const expected = packageId(record.package_name, record.version);
  if (record.package_id !== expected) {
    throw new InvalidRecordError(
      `Cannot record the ${what}: package_id must be "${expected}" (package_name#version)`,
    );
  }
  if (record.package_id.startsWith(RESERVED_KEY_PREFIX)) {
    throw new InvalidRecordError(
      `Cannot record the ${what}: keys beginning with "${RESERVED_KEY_PREFIX}" are reserved`,
    );
  }
  if (!Number.isSafeInteger(record.file_size) || record.file_size < 0) {
    throw new InvalidRecordError(`Cannot record the ${what}: file_size must be a whole number ≥ 0`);
  }
}

/** Whether a table item is a package record (and not, say, the publisher lease). */
export function isPackageItem(item: Record<string, unknown>): boolean {
  return typeof item.package_id === "string" &&
    !item.package_id.startsWith(RESERVED_KEY_PREFIX) &&
    typeof item.package_name === "string" && typeof item.version === "string";
}

function byVersion(a: PackageRecord, b: PackageRecord): number {
  return compareVersions(a.version, b.version);
}

/**
 * Reads and writes package records in one packages table.
 *
 * @example
 * ```ts
 * const store = new PackageStore(clients.dynamo, outputs.tableName);
 * await store.put(record); // "created" or "unchanged"; RecordConflictError otherwise
 * const kiro = await store.latest("kiro");
 * ```
 */
export class PackageStore {
  readonly tableName: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #consistent: boolean;

  /** A store over `tableName`, through a document client (see `awsClients`). */
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: PackageStoreOptions = {},
  ) {
    this.#client = client;
    this.tableName = tableName;
    this.#consistent = options.consistentRead ?? true;
  }

  /**
   * Records `record` unless its version is already recorded. Returns
   * `"created"`, or `"unchanged"` when the same content is already there;
   * throws {@linkcode RecordConflictError} when different content is.
   */
  async put(record: PackageRecord): Promise<PutResult> {
    checkRecord(record);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: "attribute_not_exists(package_id)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return "created";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Read the stored one (ALL_OLD on failure is not returned by every implementation).
    const existing = await this.get(record.package_name, record.version);
    if (existing === undefined) {
      // Deleted between the two calls: try once more.
      return await this.put(record);
    }
    const fields = differingFields(existing, record);
    if (fields.length > 0) throw new RecordConflictError(existing, fields);
    return "unchanged";
  }

  /** The record of `name` `version`, or `undefined`. */
  async get(name: string, version: string): Promise<PackageRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { package_id: packageId(name, version) },
        ConsistentRead: this.#consistent,
      }),
    );
    return Item === undefined ? undefined : Item as PackageRecord;
  }

  /** Whether `name` `version` is recorded. */
  async has(name: string, version: string): Promise<boolean> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { package_id: packageId(name, version) },
        ProjectionExpression: "package_id",
        ConsistentRead: this.#consistent,
      }),
    );
    return Item !== undefined;
  }

  /**
   * Every package record in the table (a paginated Scan, every page),
   * sorted by name, then by dpkg version order. Non-package items are skipped.
   */
  async listAll(): Promise<PackageRecord[]> {
    const records: PackageRecord[] = [];
    const pages = paginateScan(
      { client: this.#client, pageSize: 1000 },
      { TableName: this.tableName, ConsistentRead: this.#consistent },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (isPackageItem(item)) records.push(item as PackageRecord);
      }
    }
    return records.sort((a, b) =>
      a.package_name < b.package_name ? -1 : a.package_name > b.package_name ? 1 : byVersion(a, b)
    );
  }

  /**
   * Every recorded version of `name` (a paginated Query on the
   * `package-name-index` GSI), in dpkg version order, oldest first. The index is
   * eventually consistent: a version recorded a moment ago may be missing.
   */
  async listByName(name: string): Promise<PackageRecord[]> {
    const records: PackageRecord[] = [];
    const pages = paginateQuery({ client: this.#client, pageSize: 1000 }, {
      TableName: this.tableName,
      IndexName: PACKAGE_NAME_INDEX,
      KeyConditionExpression: "package_name = :name",
      ExpressionAttributeValues: { ":name": name },
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (isPackageItem(item)) records.push(item as PackageRecord);
      }
    }
    return records.sort(byVersion);
  }

  /** The highest version of `name` in dpkg order, or `undefined` when none is recorded. */
  async latest(name: string): Promise<PackageRecord | undefined> {
    const all = await this.listByName(name);
    return all[all.length - 1];
  }
}
