/**
 * Checking that every record's `.deb` is in the pool, as the record says,
 * without reading any `.deb`: listings of the checked records' folders,
 * several at once (size and ETag; {@linkcode poolListingPrefixes}), and a
 * HEAD only where the ETag is not the file's MD5 (multipart uploads), to
 * compare the SHA-256 kept in the object's metadata.
 *
 * Which records a publish checks is {@linkcode planPoolCheck}: those no
 * channel's live generation lists (new or reinstated since), and every
 * listed one when the last full check is a day old (`docs/design.md`,
 * "Publishing order").
 *
 * @module
 */

import { identityLabel } from "../domain/channels.ts";
import type { PackageRecord } from "../domain/package_record.ts";
import type { LiveGeneration, PoolCheckScope } from "../store/history.ts";
import { Hasher } from "../hashing.ts";
import { mapLimit } from "./limit.ts";
import type { ObjectStore } from "../aws/object_store.ts";

/**
 * How the pool is read: listings of the checked records' folders (S3: a
 * request per 1,000 objects; the default), or a HEAD per record (cheaper when a few records are
 * checked in a large pool).
 */
export type PoolCheckStrategy = "list" | "head";

/** A full pool check is due when the last one is this old (one day). */
export const FULL_POOL_CHECK_EVERY_MS = 86_400_000;

/** At most this many records are checked with a HEAD each rather than a listing of the pool. */
export const HEAD_CHECK_LIMIT = 100;

/** What a publish checks, from {@linkcode planPoolCheck}. */
export interface PoolCheckPlan {
  /** `full`: every listed record; `changed`: only those no live generation lists. */
  scope: PoolCheckScope;
  /** The records whose pool objects are checked. */
  records: PackageRecord[];
  /** How the pool is read (a HEAD each for a few records, else listings of their folders). */
  strategy: PoolCheckStrategy;
  /** Why the scope is what it is, for the progress message. */
  reason: string;
}

/**
 * Which of `listed` (every record some channel's new index lists) have their
 * pool objects checked. An identity that a channel's live generation lists
 * had its object checked by that publish, and pool objects do not change
 * until `prune-pool` deletes them, which it does only for identities out of
 * every index: only the others are checked, unless `scope` is `full`, no
 * history is known (`live` absent), or no full check was recorded in the
 * last `fullEveryMs` (default {@linkcode FULL_POOL_CHECK_EVERY_MS}).
 *
 * @param listed The records the publish lists, each once.
 * @param live Each channel's live generation, from the publish history.
 */
export function planPoolCheck(
  listed: readonly PackageRecord[],
  live: readonly LiveGeneration[] | undefined,
  options: {
    now: Date;
    scope?: PoolCheckScope;
    fullEveryMs?: number;
    strategy?: PoolCheckStrategy;
  },
): PoolCheckPlan {
  const strategyFor = (count: number): PoolCheckStrategy =>
    options.strategy ?? (count <= HEAD_CHECK_LIMIT ? "head" : "list");
  const full = (reason: string): PoolCheckPlan => ({
    scope: "full",
    records: [...listed],
    strategy: options.strategy ?? "list",
    reason,
  });
  if (options.scope === "full") return full("a full check was asked for");
  if (live === undefined) return full("no publish history is known");
  const due = fullPoolCheckDue(live, {
    now: options.now,
    ...(options.fullEveryMs === undefined ? {} : { everyMs: options.fullEveryMs }),
  });
  if (due !== undefined) return full(due);
  const last = lastFullPoolCheck(live);
  const verified = new Set<string>();
  for (const generation of live) for (const label of generation.listed) verified.add(label);
  const records = listed.filter((record) => !verified.has(identityLabel(record)));
  return {
    scope: "changed",
    records,
    strategy: strategyFor(records.length),
    reason: `${listed.length - records.length} were checked when a live generation listed them ` +
      `(the last full check was at ${last})`,
  };
}

function lastFullPoolCheck(live: readonly LiveGeneration[]): string | undefined {
  return live.map((generation) => generation.lastFullPoolCheck)
    .filter((time): time is string => time !== undefined).sort().pop();
}

/**
 * Why the next publish must check every listed pool object (no full check
 * recorded in any channel's history, or the last one `everyMs` or more
 * before `now`), or `undefined` when a full check is not due. The scheduled
 * sync publishes for this reason, so the full check runs at least daily.
 *
 * @param live Each channel's live generation, from the publish history.
 */
export function fullPoolCheckDue(
  live: readonly LiveGeneration[],
  options: { now: Date; everyMs?: number },
): string | undefined {
  const last = lastFullPoolCheck(live);
  if (last === undefined) return "no full check of the pool objects is recorded";
  if (options.now.getTime() - Date.parse(last) >= (options.everyMs ?? FULL_POOL_CHECK_EVERY_MS)) {
    return `the daily full check of the pool objects is due (the last was at ${last})`;
  }
  return undefined;
}

/** At most this many prefixes are listed for one pool check (see {@linkcode poolListingPrefixes}). */
export const LISTING_PREFIXES_MAX = 32;
/** How many of those listings run at once. */
export const LISTING_CONCURRENCY = 8;

/**
 * The prefixes whose listings cover every key of `keys`: their package
 * folders (`pool/main/k/kiro/`) when there are at most
 * {@linkcode LISTING_PREFIXES_MAX}, else their letter folders
 * (`pool/main/k/`) when there are at most that many, else `pool/`. A
 * listing is one request per 1,000 objects, one after another; several
 * prefixes are listed at once ({@linkcode LISTING_CONCURRENCY}), and only
 * the folders that hold a checked record are read.
 *
 * @param keys The pool keys to cover (`pool/COMPONENT/LETTER/NAME/FILE`).
 */
export function poolListingPrefixes(keys: readonly string[]): string[] {
  for (const depth of [4, 3]) {
    const prefixes = new Set<string>();
    for (const key of keys) {
      const parts = key.split("/");
      // The folder `depth` segments deep, or the key's own folder when it is shallower.
      prefixes.add(`${parts.slice(0, Math.min(depth, parts.length - 1)).join("/")}/`);
      if (prefixes.size > LISTING_PREFIXES_MAX) break;
    }
    if (prefixes.size <= LISTING_PREFIXES_MAX) {
      // A folder inside another is read by the other's listing.
      const sorted = [...prefixes].sort();
      return sorted.filter((prefix) =>
        !sorted.some((other) => other !== prefix && prefix.startsWith(other))
      );
    }
  }
  return ["pool/"];
}

/**
 * The problems with the pool objects of `records` (empty when every object is
 * there with the record's size and hash). Each problem names the record and
 * the key.
 */
export async function verifyPool(
  records: readonly PackageRecord[],
  objects: ObjectStore,
  options: { concurrency?: number; strategy?: PoolCheckStrategy } = {},
): Promise<string[]> {
  if (records.length === 0) return [];
  let listed: Map<string, { size: number; etag: string }> | undefined;
  if ((options.strategy ?? "list") === "list") {
    const found = new Map<string, { size: number; etag: string }>();
    const prefixes = poolListingPrefixes(records.map((record) => record.pool_key));
    await mapLimit(prefixes, LISTING_CONCURRENCY, async (prefix) => {
      for await (const object of objects.list(prefix)) {
        found.set(object.key, { size: object.size, etag: object.etag });
      }
    });
    listed = found;
  }
  const problems = await mapLimit(records, options.concurrency ?? 16, async (record) => {
    const what = `${record.package_id} (${record.pool_key})`;
    const object = listed === undefined
      ? await objects.head(record.pool_key)
      : listed.get(record.pool_key);
    if (object === undefined) return `${what} is not in the bucket`;
    if (object.size !== record.file_size) {
      return `${what} has ${object.size} bytes, the record says ${record.file_size}`;
    }
    if (object.etag.toLowerCase() === record.md5_hash.toLowerCase()) return undefined;
    const head = await objects.head(record.pool_key);
    if (head === undefined) return `${what} is not in the bucket`;
    if (head.sha256 === undefined) {
      return `${what} has no sha256 metadata and its ETag is not the record's MD5`;
    }
    if (head.sha256.toLowerCase() !== record.sha256_hash.toLowerCase()) {
      return `${what} has SHA-256 ${head.sha256}, the record says ${record.sha256_hash}`;
    }
    return undefined;
  });
  return problems.filter((problem): problem is string => problem !== undefined);
}

/**
 * The problems found by reading every record's pool object to its end and
 * hashing it (size and SHA-256): the check that does not trust metadata or
 * ETags. Costs one full download per record; `onProgress` is told each file.
 */
export async function verifyPoolContents(
  records: readonly PackageRecord[],
  objects: ObjectStore,
  options: { concurrency?: number; onProgress?: (record: PackageRecord) => void } = {},
): Promise<string[]> {
  const problems = await mapLimit(records, options.concurrency ?? 4, async (record) => {
    options.onProgress?.(record);
    const what = `${record.package_id} (${record.pool_key})`;
    const stream = await objects.read(record.pool_key);
    if (stream === undefined) return `${what} is not in the bucket`;
    const hash = new Hasher("sha256");
    for await (const chunk of stream) hash.update(chunk);
    const size = hash.size;
    const sha256 = hash.digest();
    if (size !== record.file_size) {
      return `${what} has ${size} bytes, the record says ${record.file_size}`;
    }
    if (sha256 !== record.sha256_hash.toLowerCase()) {
      return `${what} has SHA-256 ${sha256} (read in full), the record says ${record.sha256_hash}`;
    }
    return undefined;
  });
  return problems.filter((problem): problem is string => problem !== undefined);
}
