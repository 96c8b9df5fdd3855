/**
 * Pruning the pool (`deno task prune-pool`): the only way a pool object is
 * ever deleted (`docs/design.md`, "Retention").
 *
 * An identity's pool object may go when all of these hold:
 *
 * - it is out of every channel's index now (`channelIndex` in
 *   `lambda/domain/channels.ts`): withdrawn, retained out by
 *   `keep_versions`, or in no channel;
 * - it left the last index longer ago than the safety window: its
 *   `withdrawn_at`, its `processed_timestamp`, the time of the latest
 *   publish history entry (`lambda/store/history.ts`) that took it out of a
 *   channel, and the start of each published channel's history (before it,
 *   any index may have listed it; a published channel with no history counts
 *   as starting now) are all older than `now − window`. The window is at least the
 *   live Releases' validity (`Valid-Until − Date`) plus the by-hash
 *   retention, so no client holding an index it may still use is sent to a
 *   missing file;
 * - no live `Packages` file of any channel lists its pool key (a check of
 *   what clients see, whatever the table says).
 *
 * A pruned identity keeps its record, marked `pruned_at`, and stays out of
 * every index; adding the same `.deb` again brings the object back.
 *
 * @module
 */

import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { channelIndexes, type ChannelPolicy, identityLabel } from "../../lambda/domain/channels.ts";
import {
  describeIdentity,
  isPublished,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { DEFAULT_RETENTION } from "../../lambda/publish/generations.ts";
import { parseRelease } from "../../lambda/repo/release.ts";
import { parseStanzas } from "../../lambda/repo/stanza.ts";
import type { HistoryEntry } from "../../lambda/store/history.ts";
import type { PackageStore } from "../../lambda/store/package_store.ts";

/** Why an identity is out of every index. */
export type OutReason = "withdrawn" | "retained out" | "in no channel";

/** One identity out of every index. */
export interface PruneCandidate {
  record: PackageRecord;
  reason: OutReason;
  /** When it left the last index, as far as the table knows (ISO 8601). */
  leftAt: string;
}

/** What {@linkcode prunePool} did (or would do). */
export interface PruneResult {
  /** The identities whose pool object was deleted (or would be, on a dry run). */
  pruned: PruneCandidate[];
  /** Out of every index, but inside the window (or still listed by a live index). */
  waiting: (PruneCandidate & { until: string; why: string })[];
  /** Bytes freed (or that would be). */
  bytes: number;
  /** The window used, in milliseconds. */
  windowMs: number;
  dryRun: boolean;
}

/** What {@linkcode prunePool} needs. */
export interface PruneDeps {
  store: Pick<PackageStore, "listAll" | "setPruned">;
  history: { entries(channel: string): Promise<HistoryEntry[]> };
  objects: Pick<ObjectStore, "get" | "delete">;
  policy: ChannelPolicy;
  onProgress?: (message: string) => void;
}

/** Options of {@linkcode prunePool}. */
export interface PruneOptions {
  now?: Date;
  /** The window; at least {@linkcode minimumWindowMs}'s answer (default: that). */
  windowMs?: number;
  /** By-hash retention in ms (default: the publisher's default). */
  byHashRetentionMs?: number;
  dryRun?: boolean;
}

/** The window is shorter than clients may hold an index. */
export class PruneWindowError extends Error {
  override name = "PruneWindowError";
}

/**
 * The shortest safe window: the longest validity (`Valid-Until − Date`) of
 * the live Releases plus the by-hash retention. A channel never published
 * counts as the default 7 days.
 */
export async function minimumWindowMs(
  objects: Pick<ObjectStore, "get">,
  options: { channels: readonly string[]; byHashRetentionMs?: number },
): Promise<number> {
  let validity = 7 * 86_400_000;
  for (const channel of options.channels) {
    const bytes = await objects.get(`dists/${channel}/Release`);
    if (bytes === undefined) continue;
    const release = parseRelease(new TextDecoder().decode(bytes));
    if (release.date !== undefined && release.validUntil !== undefined) {
      validity = Math.max(validity, release.validUntil.getTime() - release.date.getTime());
    }
  }
  return validity + (options.byHashRetentionMs ?? DEFAULT_RETENTION.keepSeconds * 1000);
}

/** Every pool key a live `Packages` file of `channels` lists. */
async function liveFilenames(
  objects: Pick<ObjectStore, "get">,
  channels: readonly string[],
): Promise<Set<string>> {
  const listed = new Set<string>();
  for (const channel of channels) {
    const bytes = await objects.get(`dists/${channel}/Release`);
    if (bytes === undefined) continue;
    const release = parseRelease(new TextDecoder().decode(bytes));
    for (const path of release.files.keys()) {
      if (!path.endsWith("/Packages")) continue;
      const packages = await objects.get(`dists/${channel}/${path}`);
      if (packages === undefined) continue;
      for (const stanza of parseStanzas(new TextDecoder().decode(packages))) {
        if (stanza.Filename !== undefined) listed.add(stanza.Filename);
      }
    }
  }
  return listed;
}

/**
 * Deletes the pool objects that may go (see the module docs) and marks their
 * records `pruned_at`; on a dry run, only says which and how many bytes.
 * Throws {@linkcode PruneWindowError} for a window below the minimum.
 */
export async function prunePool(deps: PruneDeps, options: PruneOptions = {}): Promise<PruneResult> {
  const progress = deps.onProgress ?? (() => {});
  const now = options.now ?? new Date();
  const channels = deps.policy.channels;
  const minimum = await minimumWindowMs(deps.objects, {
    channels,
    ...(options.byHashRetentionMs === undefined
      ? {}
      : { byHashRetentionMs: options.byHashRetentionMs }),
  });
  const windowMs = options.windowMs ?? minimum;
  if (windowMs < minimum) {
    throw new PruneWindowError(
      `Cannot prune with a window of ${formatDays(windowMs)}: clients may use an index for ` +
        `${formatDays(minimum)} (the Releases' validity plus the by-hash retention); give at ` +
        `least that, or leave --window-days out`,
    );
  }
  progress("Reading the packages table and the publish history");
  const records = await deps.store.listAll();
  const selections = channelIndexes(records, deps.policy);
  const indexed = new Set(
    [...selections.values()].flatMap((selection) => selection.listed).map(identityLabel),
  );
  const retained = new Set(
    [...selections.values()].flatMap((selection) => selection.retainedOut).map(identityLabel),
  );
  const leftIndex = new Map<string, string>();
  const stillInHistory = new Set<string>();
  // Before its first history entry a channel may have listed anything: no
  // identity left an index earlier than that, as far as we can prove.
  let historyStart: string | undefined;
  for (const channel of channels) {
    const entries = await deps.history.entries(channel);
    const first = entries[0]?.published_at ??
      (await deps.objects.get(`dists/${channel}/Release`) === undefined
        ? undefined
        : now.toISOString());
    if (first !== undefined && (historyStart === undefined || first > historyStart)) {
      historyStart = first;
    }
    const listed = new Set<string>();
    for (const entry of entries) {
      for (const label of entry.removed) {
        listed.delete(label);
        const before = leftIndex.get(label);
        if (before === undefined || before < entry.published_at) {
          leftIndex.set(label, entry.published_at);
        }
      }
      for (const label of entry.added) listed.add(label);
    }
    for (const label of listed) stillInHistory.add(label);
  }
  progress("Reading the live indexes of every channel");
  const live = await liveFilenames(deps.objects, channels);

  const pruned: PruneCandidate[] = [];
  const waiting: PruneResult["waiting"] = [];
  const limit = now.getTime() - windowMs;
  for (const record of records) {
    const label = identityLabel(record);
    if (record.pruned_at !== undefined || indexed.has(label)) continue;
    const reason: OutReason = !isPublished(record)
      ? "withdrawn"
      : retained.has(label)
      ? "retained out"
      : "in no channel";
    const times = [
      record.processed_timestamp,
      record.withdrawn_at,
      leftIndex.get(label),
      historyStart,
    ]
      .filter((time): time is string => time !== undefined && !Number.isNaN(Date.parse(time)));
    const leftAt = times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
    const candidate = { record, reason, leftAt };
    const until = new Date(Date.parse(leftAt) + windowMs).toISOString();
    if (live.has(record.pool_key)) {
      waiting.push({ ...candidate, until, why: "a live Packages file still lists it" });
    } else if (stillInHistory.has(label)) {
      waiting.push({
        ...candidate,
        until,
        why: "the last publish still listed it (publish first: deno task rebuild)",
      });
    } else if (Date.parse(leftAt) > limit) {
      waiting.push({ ...candidate, until, why: `it left the last index at ${leftAt}` });
    } else {
      pruned.push(candidate);
    }
  }
  const bytes = pruned.reduce((sum, item) => sum + item.record.file_size, 0);
  if (options.dryRun === true) {
    return { pruned, waiting, bytes, windowMs, dryRun: true };
  }
  for (const item of pruned) {
    progress(`Deleting ${item.record.pool_key} (${describeIdentity(item.record)}, ${item.reason})`);
    // Marked first: a crash in between leaves a record saying "pruned" over
    // an object still there (harmless), never an index naming a lost file.
    await deps.store.setPruned(item.record, now.toISOString());
    await deps.objects.delete(item.record.pool_key);
  }
  return { pruned, waiting, bytes, windowMs, dryRun: false };
}

/** `N days` (with up to one decimal), for messages. */
export function formatDays(ms: number): string {
  const days = Math.round((ms / 86_400_000) * 10) / 10;
  return `${days} day${days === 1 ? "" : "s"}`;
}
