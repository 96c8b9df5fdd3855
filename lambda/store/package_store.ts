/**
 * The package store: the packages table, the single source of truth
 * (`docs/architecture.md`, "Identity").
 *
 * One item is one binary package identity: partition key `package_id`
 * (`{name}#{canonical version}`, so every spelling dpkg holds equal shares
 * one key) and sort key `architecture`. An identity's bytes, once recorded,
 * are immutable whatever its status. {@linkcode PackageStore.put} writes with
 * `attribute_not_exists(package_id)` on that key, so a second spelling or a
 * second build of one identity is refused by the write itself; when the item
 * already exists it compares the stored record with the new one:
 *
 * - same repository content → a no-op, `"unchanged"` (the stored record, with
 *   its first `processed_timestamp`, stays);
 * - different repository content → {@linkcode RecordConflictError}.
 *
 * "Repository content" is every field except the provenance fields in
 * {@linkcode PROVENANCE_FIELDS}: when the record was written, where the file
 * was fetched from and under which file name, its upstream date, how it
 * arrived, and the notes/links — and the lifecycle fields
 * ({@linkcode LIFECYCLE_FIELDS}: status and who withdrew it when and why,
 * channel membership and its audit, and whether the pool object was pruned).
 * Those do not reach the repository's bytes, so
 * re-recording the same `.deb` from another URL or another staging path is the
 * same version. Everything else — the hashes and size (the bytes), the pool
 * key, the architecture, the control paragraph and the stanza fields — must be
 * identical, or the version would mean two different things.
 *
 * A name and version is either one `Architecture: all` identity or any
 * number of architecture-specific ones, never both, and all of them spell the
 * version the same way: {@linkcode PackageStore.put} reads the version's
 * partition before writing and refuses with {@linkcode IdentityConflictError}.
 * DynamoDB cannot make that rule part of one conditional write (the stand-in
 * has no transactions), so after writing it reads the partition again and,
 * if a concurrent writer broke the rule, takes its own item back and refuses:
 * two racing writers may both be refused, never both recorded.
 *
 * @module
 */

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  describeIdentity,
  packageId,
  type PackageIdentity,
  type PackageRecord,
} from "../domain/package_record.ts";
import { type ChannelChange, channelNameProblem, channelsOf } from "../domain/channels.ts";
import { compareVersions, isValidVersion } from "../domain/version.ts";
import { PACKAGE_NAME_INDEX, RESERVED_KEY_PREFIX, type TableKey } from "./table.ts";

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

/** Fields that say whether an identity is in the indexes, and who changed that. */
export const LIFECYCLE_FIELDS: readonly (keyof PackageRecord)[] = [
  "status",
  "withdrawn_at",
  "withdrawn_by",
  "withdraw_reason",
  "channels",
  "channel_history",
  "pruned_at",
];

/** The outcome of {@linkcode PackageStore.put}. */
export type PutResult = "created" | "unchanged";

/** The primary key of `identity`'s item. */
export function identityKey(identity: PackageIdentity): TableKey {
  return {
    package_id: packageId(identity.package_name, identity.version),
    architecture: identity.architecture,
  };
}

/** A different record already exists under the same identity (the same key). */
export class RecordConflictError extends Error {
  override name = "RecordConflictError";
  /** The `package_id` both records share. */
  readonly packageId: string;
  /** The repository-content fields that differ, sorted. */
  readonly fields: readonly string[];
  /** The record already in the table. */
  readonly existing: PackageRecord;

  constructor(existing: PackageRecord, fields: readonly string[], attempted?: PackageRecord) {
    const spelling = attempted !== undefined && attempted.version !== existing.version
      ? ` (dpkg holds ${attempted.version} and ${existing.version} equal: they are one version)`
      : "";
    const what = attempted === undefined ? existing : attempted;
    super(
      `Cannot record ${describeIdentity(what)}: ${describeIdentity(existing)} is already ` +
        `recorded with other content${spelling} (differs in ${fields.join(", ")}); recorded ` +
        `versions are immutable: publish the new build under a new version`,
    );
    this.packageId = existing.package_id;
    this.fields = fields;
    this.existing = existing;
  }
}

/**
 * The record would break a rule between the architectures of one version:
 * `all` beside architecture-specific builds, or another spelling of the version.
 */
export class IdentityConflictError extends Error {
  override name = "IdentityConflictError";
  /** The records of the same version already in the table that the new one collides with. */
  readonly existing: readonly PackageRecord[];

  constructor(record: PackageRecord, existing: readonly PackageRecord[]) {
    const others = existing.map(describeIdentity).join(", ");
    const first = existing[0];
    const reason = first !== undefined && first.version !== record.version
      ? `the version is already recorded as ${first.version} (${others}), which dpkg holds ` +
        `equal to ${record.version}; build it with the version spelled ${first.version}, or ` +
        `give it a new version`
      : record.architecture === "all"
      ? `${others} already exist${existing.length === 1 ? "s" : ""}, and a version is either ` +
        `one Architecture: all package or architecture-specific ones, never both (apt would ` +
        `see two files for one version); give it a new version`
      : `${others} already exists, and a version is either one Architecture: all package or ` +
        `architecture-specific ones, never both (apt would see two files for one version); ` +
        `give it a new version`;
    super(`Cannot record ${describeIdentity(record)}: ${reason}`);
    this.existing = existing;
  }
}

/** A record given to {@linkcode PackageStore.put} is not a valid package record. */
export class InvalidRecordError extends Error {
  override name = "InvalidRecordError";
}

/** No record has the identity a status change names. */
export class RecordNotFoundError extends Error {
  override name = "RecordNotFoundError";
}

/** The read and write options of a {@linkcode PackageStore}. */
export interface PackageStoreOptions {
  /** Read-after-write reads for `get`/`has`/`listAll` (default true). */
  consistentRead?: boolean;
  /**
   * How many segments `listAll` scans at once (DynamoDB's parallel scan;
   * default {@linkcode DEFAULT_SCAN_SEGMENTS}; 1 scans sequentially).
   */
  scanSegments?: number;
}

/**
 * The segments of `listAll`'s parallel scan. A Scan page is at most 1 MB, so
 * 10,000 records (~15 MB) are ~15 pages; one segment reads them one after
 * another, four read four at a time, each page's unmarshalling overlapping
 * the others' requests. Measured in `deno task bench` (rebuild).
 */
export const DEFAULT_SCAN_SEGMENTS = 4;

/** What {@linkcode PackageStore.listAll} takes. */
export interface ListAllOptions {
  /** Leave out the {@linkcode UNPUBLISHED_ATTRIBUTES} (records for a publish only). */
  forPublishing?: boolean;
}

/** Reads every package record (a {@linkcode PackageStore} fits; tests give fakes). */
export interface RecordLister {
  listAll(options?: ListAllOptions): Promise<PackageRecord[]>;
}

/** Every attribute of a package record; the compiler checks that none is missing. */
const RECORD_ATTRIBUTES = Object.keys(
  {
    package_id: true,
    package_name: true,
    version: true,
    architecture: true,
    package_type: true,
    pub_date: true,
    processed_timestamp: true,
    deb_url: true,
    actual_filename: true,
    pool_key: true,
    file_size: true,
    md5_hash: true,
    sha1_hash: true,
    sha256_hash: true,
    section: true,
    priority: true,
    maintainer: true,
    homepage: true,
    description: true,
    depends: true,
    control: true,
    certificate_url: true,
    signature_url: true,
    notes: true,
    status: true,
    withdrawn_at: true,
    withdrawn_by: true,
    withdraw_reason: true,
    channels: true,
    channel_history: true,
    pruned_at: true,
  } satisfies Record<keyof PackageRecord, true>,
) as (keyof PackageRecord)[];

/**
 * The optional attributes that no publish reads (indexes, the channel policy,
 * the pool check, the page, the history): `listAll({ forPublishing: true })`
 * leaves them out of the Scan. Release notes (up to 64 KiB each) and the
 * membership audit grow with the repository; the index does not need them.
 */
export const UNPUBLISHED_ATTRIBUTES = [
  "notes",
  "channel_history",
  "certificate_url",
  "signature_url",
  "withdrawn_by",
  "withdraw_reason",
] as const satisfies readonly (keyof PackageRecord)[];

/** The Scan projection of `listAll({ forPublishing: true })`, with its attribute names. */
const PUBLISHING_PROJECTION = (() => {
  const omitted = new Set<string>(UNPUBLISHED_ATTRIBUTES);
  const names: Record<string, string> = {};
  const kept = RECORD_ATTRIBUTES.filter((name) => !omitted.has(name)).map((name, i) => {
    names[`#a${i}`] = name;
    return `#a${i}`;
  });
  return { ProjectionExpression: kept.join(", "), ExpressionAttributeNames: names };
})();

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/**
 * The repository-content fields in which `a` and `b` differ (provenance and
 * lifecycle fields ignored), sorted; empty when they are the same version.
 */
export function differingFields(a: PackageRecord, b: PackageRecord): string[] {
  const ignored = new Set<string>([...PROVENANCE_FIELDS, ...LIFECYCLE_FIELDS]);
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
  for (
    const field of ["package_id", "package_name", "version", "architecture", "sha256_hash"] as const
  ) {
    if (typeof record[field] !== "string" || record[field] === "") {
      throw new InvalidRecordError(
        `Cannot record the ${what}: ${field} must be a non-empty string`,
      );
    }
  }
  if (!isValidVersion(record.version)) {
    throw new InvalidRecordError(
      `Cannot record the ${what}: version ${JSON.stringify(record.version)} is not a valid ` +
        "Debian version",
    );
  }
  const expected = packageId(record.package_name, record.version);
  if (record.package_id !== expected) {
    throw new InvalidRecordError(
      `Cannot record the ${what}: package_id must be "${expected}" ` +
        "(package_name#canonical version)",
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
  if (record.channels !== undefined) {
    if (!Array.isArray(record.channels)) {
      throw new InvalidRecordError(`Cannot record the ${what}: channels must be a list`);
    }
    for (const channel of record.channels) {
      const problem = channelNameProblem(String(channel));
      if (problem !== undefined) {
        throw new InvalidRecordError(`Cannot record the ${what}: channels: ${problem}`);
      }
    }
  }
  if (record.status !== undefined && record.status !== "published") {
    throw new InvalidRecordError(
      `Cannot record the ${what}: a new record is published; withdraw it afterwards`,
    );
  }
}

/** Whether a table item is a package record (and not, say, the publisher lease). */
export function isPackageItem(item: Record<string, unknown>): boolean {
  return typeof item.package_id === "string" &&
    !item.package_id.startsWith(RESERVED_KEY_PREFIX) &&
    typeof item.package_name === "string" && typeof item.version === "string";
}

function byVersion(a: PackageRecord, b: PackageRecord): number {
  return compareVersions(a.version, b.version) ||
    (a.architecture < b.architecture ? -1 : a.architecture > b.architecture ? 1 : 0);
}

/** The records of `siblings` (one version's partition) that `record` may not stand beside. */
export function identityConflicts(
  record: PackageRecord,
  siblings: readonly PackageRecord[],
): PackageRecord[] {
  const others = siblings.filter((other) => other.architecture !== record.architecture);
  const spelled = others.filter((other) => other.version !== record.version);
  if (spelled.length > 0) return spelled;
  return others.filter((other) =>
    (other.architecture === "all") !== (record.architecture === "all")
  );
}

/** A status change of {@linkcode PackageStore.setStatus}. */
export type StatusChange =
  | { status: "withdrawn"; at: string; by: string; reason: string }
  | { status: "published" };

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
  readonly #segments: number;

  /** A store over `tableName`, through a document client (see `awsClients`). */
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: PackageStoreOptions = {},
  ) {
    this.#client = client;
    this.tableName = tableName;
    this.#consistent = options.consistentRead ?? true;
    const segments = options.scanSegments ?? DEFAULT_SCAN_SEGMENTS;
    if (!Number.isInteger(segments) || segments < 1 || segments > 1_000_000) {
      throw new RangeError(
        `Invalid scanSegments ${segments}: give a whole number from 1 to 1000000 (DynamoDB's limit)`,
      );
    }
    this.#segments = segments;
  }

  /**
   * Records `record` (published) unless its identity is already recorded.
   * Returns `"created"`, or `"unchanged"` when the same content is already
   * there (whatever its status: a withdrawn identity stays withdrawn). Throws
   * {@linkcode RecordConflictError} when other content is recorded under the
   * identity, {@linkcode IdentityConflictError} when the version's other
   * architectures forbid it, {@linkcode InvalidRecordError} for a malformed record.
   */
  async put(record: PackageRecord): Promise<PutResult> {
    checkRecord(record);
    const siblings = await this.versionRecords(record);
    const same = siblings.find((other) => other.architecture === record.architecture);
    if (same !== undefined) {
      // The identity is recorded (in this or another spelling): the same
      // content is a no-op, other content a conflict with it.
      const fields = differingFields(same, record);
      if (fields.length > 0) throw new RecordConflictError(same, fields, record);
      return "unchanged";
    }
    const before = identityConflicts(record, siblings);
    if (before.length > 0) throw new IdentityConflictError(record, before);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: "attribute_not_exists(package_id)",
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.get(record);
      if (existing === undefined) {
        // Deleted between the two calls: try once more.
        return await this.put(record);
      }
      const fields = differingFields(existing, record);
      if (fields.length > 0) throw new RecordConflictError(existing, fields, record);
      return "unchanged";
    }
    // A concurrent writer of another architecture may have broken the rule
    // between our read and our write: if so, take ours back and refuse.
    const after = identityConflicts(record, await this.versionRecords(record));
    if (after.length > 0) {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: identityKey(record),
          ConditionExpression: "sha256_hash = :sha",
          ExpressionAttributeValues: { ":sha": record.sha256_hash },
        }),
      ).catch((error) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
      throw new IdentityConflictError(record, after);
    }
    return "created";
  }

  /** The record of `identity`, or `undefined`. */
  async get(identity: PackageIdentity): Promise<PackageRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: identityKey(identity),
        ConsistentRead: this.#consistent,
      }),
    );
    return Item === undefined ? undefined : Item as PackageRecord;
  }

  /** Whether `identity` is recorded (published or withdrawn). */
  async has(identity: PackageIdentity): Promise<boolean> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: identityKey(identity),
        ProjectionExpression: "package_id",
        ConsistentRead: this.#consistent,
      }),
    );
    return Item !== undefined;
  }

  /**
   * Every record of one version, all architectures (a Query on the version's
   * partition, so every spelling dpkg holds equal), sorted by architecture.
   */
  async versionRecords(
    version: Pick<PackageIdentity, "package_name" | "version">,
  ): Promise<PackageRecord[]> {
    const records: PackageRecord[] = [];
    const pages = paginateQuery({ client: this.#client, pageSize: 100 }, {
      TableName: this.tableName,
      KeyConditionExpression: "package_id = :id",
      ExpressionAttributeValues: { ":id": packageId(version.package_name, version.version) },
      ConsistentRead: this.#consistent,
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (isPackageItem(item)) records.push(item as PackageRecord);
      }
    }
    return records.sort(byVersion);
  }

  /**
   * Sets the status of `identity`: withdrawn (with when, who and why) or
   * published again (the withdrawal fields removed). Returns the record as it
   * is now. Throws {@linkcode RecordNotFoundError} when no such record exists.
   */
  async setStatus(identity: PackageIdentity, change: StatusChange): Promise<PackageRecord> {
    const update = change.status === "withdrawn"
      ? {
        UpdateExpression:
          "SET #status = :status, withdrawn_at = :at, withdrawn_by = :by, withdraw_reason = :reason",
        ExpressionAttributeValues: {
          ":status": change.status,
          ":at": change.at,
          ":by": change.by,
          ":reason": change.reason,
        },
      }
      : {
        UpdateExpression:
          "SET #status = :status REMOVE withdrawn_at, withdrawn_by, withdraw_reason",
        ExpressionAttributeValues: { ":status": change.status },
      };
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: identityKey(identity),
          ConditionExpression: "attribute_exists(package_id)",
          ExpressionAttributeNames: { "#status": "status" },
          ReturnValues: "ALL_NEW",
          ...update,
        }),
      );
      return Attributes as PackageRecord;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new RecordNotFoundError(
        `Cannot change ${describeIdentity(identity)}: it is not recorded in ${this.tableName}; ` +
          "see what is with deno task list --all",
      );
    }
  }

  /**
   * Adds `identity` to, or removes it from, `change.channel`, appending the
   * change to its `channel_history`. Returns the record as it is now and
   * whether it changed (adding a member, or removing a non-member, changes
   * nothing and records nothing). The write is conditional on the number of
   * changes it read, so concurrent changes of one record never lose one another.
   * Throws {@linkcode RecordNotFoundError} when no such record exists.
   */
  async changeChannel(
    identity: PackageIdentity,
    change: ChannelChange,
  ): Promise<{ record: PackageRecord; changed: boolean }> {
    for (let attempt = 0;; attempt++) {
      const record = await this.get(identity);
      if (record === undefined) {
        throw new RecordNotFoundError(
          `Cannot change the channels of ${describeIdentity(identity)}: it is not recorded in ` +
            `${this.tableName}; see what is with deno task list --all`,
        );
      }
      const current = channelsOf(record);
      const changes = record.channel_history?.length ?? 0;
      const has = current.includes(change.channel);
      if (has === (change.action === "added")) return { record, changed: false };
      const next = change.action === "added"
        ? [...current, change.channel].sort()
        : current.filter((channel) => channel !== change.channel);
      try {
        const { Attributes } = await this.#client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: identityKey(identity),
            UpdateExpression:
              "SET channels = :next, channel_history = list_append(if_not_exists(channel_history, :none), :change)",
            // Every change appends to channel_history: its length is the
            // membership's revision, so the write holds only if none came between.
            ConditionExpression: changes === 0
              ? "attribute_exists(package_id) AND attribute_not_exists(channel_history)"
              : "attribute_exists(package_id) AND size(channel_history) = :changes",
            ExpressionAttributeValues: {
              ":next": next,
              ":none": [],
              ":change": [change],
              ...(changes === 0 ? {} : { ":changes": changes }),
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        return { record: Attributes as PackageRecord, changed: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 4) throw error;
      }
    }
  }

  /**
   * Notes that `identity`'s pool object was deleted (`deno task prune-pool`),
   * or, with `at` undefined, that it is back. Conditional on the record still
   * describing the same bytes.
   */
  async setPruned(identity: PackageRecord, at: string | undefined): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: identityKey(identity),
        UpdateExpression: at === undefined ? "REMOVE pruned_at" : "SET pruned_at = :at",
        ConditionExpression: "sha256_hash = :sha",
        ExpressionAttributeValues: {
          ":sha": identity.sha256_hash,
          ...(at === undefined ? {} : { ":at": at }),
        },
      }),
    );
  }

  /**
   * Every package record in the table (a parallel Scan of `scanSegments`
   * segments, every page of each), sorted by name, then by dpkg version order, then by architecture.
   * Non-package items are skipped. With `forPublishing`, the records lack
   * the {@linkcode UNPUBLISHED_ATTRIBUTES}: for the publish, not for writing back.
   */
  async listAll(options: ListAllOptions = {}): Promise<PackageRecord[]> {
    const total = this.#segments;
    const segments = await Promise.all(
      Array.from({ length: total }, async (_, segment) => {
        const records: PackageRecord[] = [];
        const pages = paginateScan(
          { client: this.#client, pageSize: 1000 },
          {
            TableName: this.tableName,
            ConsistentRead: this.#consistent,
            ...(total > 1 ? { Segment: segment, TotalSegments: total } : {}),
            ...(options.forPublishing === true ? PUBLISHING_PROJECTION : {}),
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            if (isPackageItem(item)) records.push(item as PackageRecord);
          }
        }
        return records;
      }),
    );
    return segments.flat().sort((a, b) =>
      a.package_name < b.package_name ? -1 : a.package_name > b.package_name ? 1 : byVersion(a, b)
    );
  }

  /**
   * Every recorded identity of `name` (a paginated Query on the
   * `package-name-index` GSI), in dpkg version order, oldest first, then by
   * architecture. The index is eventually consistent: a version recorded a
   * moment ago may be missing.
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

  /** The highest recorded version of `name` in dpkg order, or `undefined` when none is recorded. */
  async latest(name: string): Promise<PackageRecord | undefined> {
    const all = await this.listByName(name);
    return all[all.length - 1];
  }
}
