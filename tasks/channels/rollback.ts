/**
 * Rollback (`deno task rollback --to GENERATION`): makes a channel's index
 * list what it listed at an earlier generation of its publish history
 * (`lambda/store/history.ts`), by changing which identities the channel
 * holds — each change audited with the reason `rollback to generation N` —
 * and publishing once. Other channels' memberships are untouched; no byte
 * moves.
 *
 * It refuses, changing nothing, when that generation's set cannot be listed
 * again: an identity no longer recorded, withdrawn since (reinstate it
 * first), or whose pool object is gone; or when the retention
 * (`keep_versions`) would now keep part of the set out.
 *
 * @module
 */

import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import {
  channelIndex,
  channelsOf,
  identityLabel,
  inChannel,
  type KeepVersions,
} from "../../lambda/domain/channels.ts";
import {
  describeIdentity,
  isPublished,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { type HistoryEntry, replayHistory } from "../../lambda/store/history.ts";
import type { PackageStore } from "../../lambda/store/package_store.ts";

/** The rollback cannot be carried out (see the module docs); nothing was changed. */
export class RollbackError extends Error {
  override name = "RollbackError";
}

/** A rollback request. */
export interface RollbackRequest {
  channel: string;
  /** The generation whose index to restore. */
  generation: number;
  /** Who (the operator's identity). */
  by: string;
  dryRun?: boolean;
}

/** What {@linkcode rollbackChannel} needs. */
export interface RollbackDeps {
  store: Pick<PackageStore, "listAll" | "changeChannel">;
  history: { entries(channel: string): Promise<HistoryEntry[]> };
  objects: Pick<ObjectStore, "head">;
  /** The channels the environment publishes. */
  channels: readonly string[];
  keepVersions?: KeepVersions;
  /** Makes the live repository match the table; returns whether it published. */
  converge: () => Promise<boolean>;
  now?: () => Date;
  onProgress?: (message: string) => void;
}

/** What a rollback did (or would do). */
export interface RollbackResult {
  channel: string;
  generation: number;
  /** Identities added to the channel. */
  added: PackageRecord[];
  /** Identities removed from the channel. */
  removed: PackageRecord[];
  published: boolean;
  dryRun: boolean;
}

/**
 * Restores `request.channel`'s index of generation `request.generation`
 * (see the module docs). Throws {@linkcode RollbackError}.
 */
export async function rollbackChannel(
  request: RollbackRequest,
  deps: RollbackDeps,
): Promise<RollbackResult> {
  const progress = deps.onProgress ?? (() => {});
  const { channel, generation } = request;
  if (!deps.channels.includes(channel)) {
    throw new RollbackError(
      `Cannot roll back ${channel}: the environment publishes ${deps.channels.join(", ")}`,
    );
  }
  const entries = await deps.history.entries(channel);
  if (!entries.some((entry) => entry.generation === generation)) {
    const last = entries[entries.length - 1]?.generation;
    throw new RollbackError(
      `Cannot roll back ${channel} to generation ${generation}: ` +
        (last === undefined
          ? "the channel has no publish history yet"
          : `its history holds generations 1 to ${last}`) +
        `; see them with deno task history --channel ${channel}`,
    );
  }
  const wanted = replayHistory(entries, generation);
  const records = await deps.store.listAll();
  const byLabel = new Map(records.map((record) => [identityLabel(record), record]));

  const problems: string[] = [];
  const needed: PackageRecord[] = [];
  for (const label of [...wanted].sort()) {
    const record = byLabel.get(label);
    if (record === undefined) {
      problems.push(`${label} is no longer recorded`);
    } else if (!isPublished(record)) {
      problems.push(`${describeIdentity(record)} was withdrawn since (reinstate it first)`);
    } else if (record.pruned_at !== undefined) {
      problems.push(`${describeIdentity(record)}'s pool object was pruned (add the .deb again)`);
    } else {
      const head = await deps.objects.head(record.pool_key);
      if (head === undefined || head.size !== record.file_size) {
        problems.push(`${describeIdentity(record)}'s pool object ${record.pool_key} is gone`);
      } else {
        needed.push(record);
      }
    }
  }
  if (problems.length > 0) {
    throw new RollbackError(
      `Cannot roll back ${channel} to generation ${generation}: ${
        problems.join("; ")
      }; nothing was changed`,
    );
  }
  const add = needed.filter((record) => !inChannel(record, channel));
  const remove = records.filter((record) =>
    isPublished(record) && inChannel(record, channel) && !wanted.has(identityLabel(record))
  );

  // What the channel would list after the change, under today's retention.
  const changed = new Set([...add, ...remove]);
  const after = records.map((record) => {
    if (!changed.has(record)) return record;
    const has = add.includes(record);
    const channels = has
      ? [...channelsOf(record), channel]
      : channelsOf(record).filter((name) => name !== channel);
    return { ...record, channels };
  });
  const listed = new Set(
    channelIndex(
      after,
      channel,
      deps.keepVersions === undefined ? {} : {
        keepVersions: deps.keepVersions,
      },
    ).listed.map(identityLabel),
  );
  const kept = [...wanted].filter((label) => !listed.has(label)).sort();
  if (kept.length > 0) {
    throw new RollbackError(
      `Cannot roll back ${channel} to generation ${generation}: keep_versions would now keep ` +
        `${kept.join(", ")} out of its index; raise keep_versions in the package's ` +
        "configuration first; nothing was changed",
    );
  }

  for (const record of add) {
    progress(
      `${request.dryRun ? "Would add" : "Adding"} ${describeIdentity(record)} to ${channel}`,
    );
  }
  for (const record of remove) {
    progress(
      `${request.dryRun ? "Would remove" : "Removing"} ${describeIdentity(record)} from ${channel}`,
    );
  }
  if (request.dryRun === true) {
    return { channel, generation, added: add, removed: remove, published: false, dryRun: true };
  }
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const reason = `rollback to generation ${generation}`;
  const done: { added: PackageRecord[]; removed: PackageRecord[] } = { added: [], removed: [] };
  for (const [group, action] of [[add, "added"], [remove, "removed"]] as const) {
    for (const record of group) {
      const { record: now } = await deps.store.changeChannel(record, {
        channel,
        action,
        at,
        by: request.by,
        reason,
      });
      done[action].push(now);
    }
  }
  const published = await deps.converge();
  return { channel, generation, ...done, published, dryRun: false };
}
