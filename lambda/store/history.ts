/**
 * The publish history: one entry per channel per publish, kept in the
 * packages table so the table stays the single source of truth
 * (`docs/design.md`, "Publish history and rollback").
 *
 * Entries of channel `C` live under the reserved partition `__history#C`,
 * their sort key (the table's `architecture` attribute) the generation
 * number, zero-padded so that the key order is the number order. An entry
 * holds what changed in the channel's index (identities added and removed,
 * as `NAME VERSION ARCH`), so the index of any generation is the replay of
 * the entries up to it ({@linkcode replayHistory}); generation 1 adds
 * everything the first recorded publish listed.
 *
 * A DynamoDB item holds at most 400 KB, and a publish that adds or removes
 * more than about 15,000 identities at once (the first publish of a large
 * table, a migration) has longer lists. Such an entry's lists are stored in
 * parts: items keyed `GENERATION#ID#PART` (ID new for each attempt), each
 * holding at most {@linkcode HISTORY_PART_BYTES} of labels, written before
 * the entry's own item, which names them (`parts`) and is written last,
 * conditionally: until it exists the parts belong to no entry and are
 * ignored, so an entry is read whole or not at all.
 *
 * @module
 */

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
import { RESERVED_KEY_PREFIX } from "./table.ts";

/** One publish of one channel. */
export interface HistoryEntry {
  channel: string;
  /** 1, 2, 3, … per channel. */
  generation: number;
  /** The Release's `Date` (ISO 8601, UTC). */
  published_at: string;
  /** Who or what published: the task and operator, the scheduled run, the Lambda request. */
  started_by: string;
  /** The SHA-256 of the channel's `Release`. */
  release_sha256: string;
  /** Identities that entered the index (`NAME VERSION ARCH`), sorted. */
  added: string[];
  /** Identities that left the index, sorted. */
  removed: string[];
  /**
   * `full` when the publish checked the pool object of every identity listed
   * in any channel, `changed` when only those no live generation listed
   * (absent in entries recorded before the pool check was incremental).
   */
  pool_check?: PoolCheckScope;
}

/** How much of the pool a publish checked (`docs/design.md`, "Publishing order"). */
export type PoolCheckScope = "full" | "changed";

/** What a publish of one channel tells the history. */
export interface Publication {
  /** Every identity the index lists (`NAME VERSION ARCH`). */
  listed: readonly string[];
  published_at: string;
  started_by: string;
  release_sha256: string;
  /** How much of the pool the publish checked. */
  pool_check?: PoolCheckScope;
}

/** What the history says of a channel's live generation. */
export interface LiveGeneration {
  /** The identities its last generation lists (empty when it has none). */
  listed: ReadonlySet<string>;
  /** When (ISO 8601) the newest publish that checked the whole pool was published, if any. */
  lastFullPoolCheck?: string;
}

/** Where a publisher records its publications. */
export interface HistoryRecorder {
  /** Appends the entry for `publication` of `channel`; returns it. */
  record(channel: string, publication: Publication): Promise<HistoryEntry>;
  /**
   * The live generation of `channel` (absent: the recorder cannot say, and
   * every listed pool object is checked).
   */
  live?(channel: string): Promise<LiveGeneration>;
}

/**
 * The {@linkcode LiveGeneration} of a channel from its entries (any order).
 *
 * @param entries The channel's history entries.
 */
export function liveGeneration(entries: readonly HistoryEntry[]): LiveGeneration {
  let lastFullPoolCheck: string | undefined;
  for (const entry of entries) {
    if (entry.pool_check !== "full") continue;
    if (lastFullPoolCheck === undefined || entry.published_at > lastFullPoolCheck) {
      lastFullPoolCheck = entry.published_at;
    }
  }
  return {
    listed: replayHistory(entries),
    ...(lastFullPoolCheck === undefined ? {} : { lastFullPoolCheck }),
  };
}

const PAD = 10;

/**
 * The most label bytes an entry keeps in one item (its own or a part's):
 * well under DynamoDB's 400 KB per item, with room for the attribute
 * overhead of every list element.
 */
export const HISTORY_PART_BYTES = 256 * 1024;

/** Where an entry's lists are, when in parts: the attempt's ID and the number of parts. */
interface PartsPointer {
  id: string;
  count: number;
}

/** One part of an entry's lists. */
interface EntryPart {
  added: string[];
  removed: string[];
}

/** Splits the lists into parts of at most `limit` label bytes (each label at least once). */
function splitLists(entry: HistoryEntry, limit: number): EntryPart[] {
  const encoder = new TextEncoder();
  const parts: EntryPart[] = [{ added: [], removed: [] }];
  let bytes = 0;
  for (const list of ["added", "removed"] as const) {
    for (const label of entry[list]) {
      const size = encoder.encode(label).byteLength + 4;
      if (bytes + size > limit && bytes > 0) {
        parts.push({ added: [], removed: [] });
        bytes = 0;
      }
      parts[parts.length - 1]![list].push(label);
      bytes += size;
    }
  }
  return parts;
}

/** An entry's sort key: its generation, zero-padded so that key order is number order. */
function generationKey(generation: number): string {
  return String(generation).padStart(PAD, "0");
}

function partKey(generation: number, id: string, part: number): string {
  return `${generationKey(generation)}#${id}#${String(part).padStart(4, "0")}`;
}

function partition(channel: string): string {
  return `${RESERVED_KEY_PREFIX}history#${channel}`;
}

/**
 * The index of a channel after `generation` (default: the last), replayed
 * from its entries (any order).
 */
export function replayHistory(
  entries: readonly HistoryEntry[],
  generation = Infinity,
): Set<string> {
  const listed = new Set<string>();
  for (const entry of [...entries].sort((a, b) => a.generation - b.generation)) {
    if (entry.generation > generation) break;
    for (const label of entry.removed) listed.delete(label);
    for (const label of entry.added) listed.add(label);
  }
  return listed;
}

/**
 * The entry that follows `entries` (one channel's history, oldest first) for
 * `publication`: the next generation, and what it added and removed against
 * the replayed history. Pure: {@linkcode PublishHistory.record} stores it.
 */
export function nextHistoryEntry(
  entries: readonly HistoryEntry[],
  channel: string,
  options: { publication: Publication },
): HistoryEntry {
  const { publication } = options;
  const before = replayHistory(entries);
  const now = new Set(publication.listed);
  return {
    channel,
    generation: (entries[entries.length - 1]?.generation ?? 0) + 1,
    published_at: publication.published_at,
    started_by: publication.started_by,
    release_sha256: publication.release_sha256,
    added: [...now].filter((label) => !before.has(label)).sort(),
    removed: [...before].filter((label) => !now.has(label)).sort(),
    ...(publication.pool_check === undefined ? {} : { pool_check: publication.pool_check }),
  };
}

/**
 * The entries of every channel's publishes, in the packages table.
 *
 * @example
 * ```ts
 * const history = new PublishHistory(clients.dynamo, outputs.tableName);
 * const entries = await history.entries("stable");
 * ```
 */
export class PublishHistory implements HistoryRecorder {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  /** Entries read by `live`, reused by the next `record` of the channel (its write is conditional). */
  readonly #read = new Map<string, HistoryEntry[]>();

  readonly #partBytes: number;

  /**
   * The history in `tableName`, through a document client; `partBytes`
   * (default {@linkcode HISTORY_PART_BYTES}) is the most label bytes one item
   * holds.
   */
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { partBytes?: number } = {},
  ) {
    this.#client = client;
    this.#table = tableName;
    this.#partBytes = options.partBytes ?? HISTORY_PART_BYTES;
  }

  /**
   * Every entry of `channel`, oldest first, each with its whole lists.
   *
   * @throws {Error} when an entry names a part that is not in the table
   */
  async entries(channel: string): Promise<HistoryEntry[]> {
    const entries: (HistoryEntry & { parts?: PartsPointer })[] = [];
    const parts = new Map<string, EntryPart>();
    const pages = paginateQuery({ client: this.#client, pageSize: 500 }, {
      TableName: this.#table,
      KeyConditionExpression: "package_id = :id",
      ExpressionAttributeValues: { ":id": partition(channel) },
      ConsistentRead: true,
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const { package_id: _id, architecture: key, ...rest } = item;
        if (typeof key === "string" && key.length > PAD) {
          parts.set(key, { added: rest.added ?? [], removed: rest.removed ?? [] });
        } else {
          entries.push(rest as HistoryEntry & { parts?: PartsPointer });
        }
      }
    }
    const whole = entries.map(({ parts: pointer, ...entry }): HistoryEntry => {
      if (pointer === undefined) return entry;
      for (let part = 0; part < pointer.count; part++) {
        const found = parts.get(partKey(entry.generation, pointer.id, part));
        if (found === undefined) {
          throw new Error(
            `The publish history of ${channel} is incomplete: generation ${entry.generation} ` +
              `names ${pointer.count} parts and part ${part} is not in the table ` +
              `${this.#table}; restore it from a backup of the table`,
          );
        }
        for (const label of found.added) entry.added.push(label);
        for (const label of found.removed) entry.removed.push(label);
      }
      return entry;
    });
    return whole.sort((a, b) => a.generation - b.generation);
  }

  /** The live generation of `channel`, from its entries. */
  async live(channel: string): Promise<LiveGeneration> {
    const entries = await this.entries(channel);
    this.#read.set(channel, entries);
    return liveGeneration(entries);
  }

  /**
   * Appends the next generation of `channel`: what `publication` lists
   * compared with the replay of the entries so far. The write is conditional
   * on the generation being new, so two recorders never share a number.
   */
  async record(channel: string, publication: Publication): Promise<HistoryEntry> {
    for (let attempt = 0;; attempt++) {
      // The entries `live` just read save a query; a newer entry written
      // meanwhile makes the conditional put fail, and the retry reads again.
      const read = attempt === 0 ? this.#read.get(channel) : undefined;
      this.#read.delete(channel);
      const entries = read ?? await this.entries(channel);
      const entry = nextHistoryEntry(entries, channel, { publication });
      const parts = splitLists(entry, this.#partBytes);
      // Lists too long for one item go to parts under a new ID for this attempt.
      const id = parts.length === 1 ? undefined : crypto.randomUUID();
      const keys = id === undefined
        ? []
        : parts.map((_, part) => partKey(entry.generation, id, part));
      for (const [part, key] of keys.entries()) {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { package_id: partition(channel), architecture: key, ...parts[part] },
          }),
        );
      }
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              package_id: partition(channel),
              architecture: generationKey(entry.generation),
              ...entry,
              ...(id === undefined
                ? {}
                : { added: [], removed: [], parts: { id, count: parts.length } }),
            },
            ConditionExpression: "attribute_not_exists(package_id)",
          }),
        );
        return entry;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 4) throw error;
        // Another publisher took this generation: our parts belong to no entry.
        for (const key of keys) {
          await this.#client.send(
            new DeleteCommand({
              TableName: this.#table,
              Key: { package_id: partition(channel), architecture: key },
            }),
          );
        }
      }
    }
  }
}
