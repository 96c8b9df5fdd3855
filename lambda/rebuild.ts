/**
 * The force rebuild: every channel's index regenerated and republished from
 * the packages table alone (its published records, by channel membership and
 * retention: withdrawn ones leave the indexes), and one publish history
 * entry per channel appended to the table. It holds the publisher lease for
 * its whole run, lists every record, and publishes; it never reads a `.deb` or an old index
 * (the object store is only asked HEADs, a listing, the live Release's `Date`
 * and the by-hash manifest).
 *
 * @module
 */

import type { ChannelPolicy } from "./domain/channels.ts";
import type { HistoryRecorder } from "./store/history.ts";
import type { RecordLister } from "./store/package_store.ts";
import type { RetentionOptions } from "./publish/generations.ts";
import type { CdnInvalidator } from "./aws/invalidation.ts";
import type { ObjectStore } from "./aws/object_store.ts";
import type { PoolCheckStrategy } from "./publish/pool_check.ts";
import type { PoolCheckScope } from "./store/history.ts";
import {
  type PublishProgress,
  publishRepository,
  type PublishResult,
  type PublishTimings,
} from "./publish/publisher.ts";
import type { SigningKey } from "./signing/keys.ts";
import { type LeaseTable, withLease } from "./store/lease.ts";

/** What a force rebuild needs. */
export interface RebuildDependencies {
  /** The package records (the packages table). */
  store: RecordLister;
  /** Where the publisher lease lives. */
  lease: LeaseTable;
  /** The repository bucket. */
  objects: ObjectStore;
  /** The signing keys, or how to load them (called once the lease is held). */
  keys: readonly SigningKey[] | (() => Promise<readonly SigningKey[]>);
  /** The repository's public URL. */
  repoUrl: string;
  /**
   * The channels and their retention, or how to load them (called once the
   * lease is held). Default: `stable` and `beta`, no retention.
   */
  policy?: ChannelPolicy | (() => Promise<ChannelPolicy>);
  /** Where each channel's publication is recorded (the packages table). */
  history?: HistoryRecorder;
  /** Who or what started the rebuild, for the history. */
  startedBy?: string;
  /** The CDN in front of the bucket, when there is one. */
  invalidator?: CdnInvalidator;
  /** `Valid-Until` = `Date` + this many days (default 7). */
  validUntilDays?: number;
  /** How long to wait for a busy lease, in ms (default 0: fail at once). */
  leaseWaitMs?: number;
  /** Who takes the lease, for the messages others see. */
  leaseLabel?: string;
  /** By-hash retention. */
  retention?: RetentionOptions;
  /** The clock (default: now). */
  now?: () => Date;
  /** Parallel requests to the object store. */
  concurrency?: number;
  /** How the pool objects are read (default: a HEAD each for a few, else listings of their folders). */
  poolCheck?: PoolCheckStrategy;
  /**
   * Which pool objects are checked (default `changed`: those no live
   * generation lists, and all of them once a day; see `publishRepository`).
   */
  poolCheckScope?: PoolCheckScope;
  /** Told what is happening. */
  onProgress?: (event: RebuildProgress) => void;
  /** Told about problems that do not stop the rebuild. */
  onWarning?: (message: string) => void;
}

/** A progress event of a rebuild. */
export interface RebuildProgress {
  phase: PublishProgress["phase"] | "lease" | "scan";
  message: string;
}

/** What a force rebuild did. */
export interface RebuildResult {
  /** Records published (in at least one channel's index). */
  packages: number;
  /** Each channel: how many records its index lists, and its history generation. */
  channels: { channel: string; packages: number; generation?: number }[];
  /** Objects written. */
  written: number;
  /** Objects already up to date. */
  skipped: number;
  /** Old by-hash files deleted. */
  pruned: number;
  /** The keys written, in order. */
  writtenKeys: string[];
  /** The Release `Date` and `Valid-Until` (ISO 8601). */
  date: string;
  validUntil: string;
  /** The CDN invalidation id, when one was made. */
  invalidationId?: string;
  /** Milliseconds per part: lease wait, table scan, then the publish's parts. */
  timings: PublishTimings & { lease: number; scan: number };
}

/**
 * Rebuilds and republishes the repository from the table alone, holding the
 * publisher lease. Throws `LeaseBusyError` when another publish holds the
 * lease beyond `leaseWaitMs`, and `PoolVerificationError` when a record's
 * pool object is missing or different (nothing is written then).
 */
export async function forceRebuild(deps: RebuildDependencies): Promise<RebuildResult> {
  const progress = deps.onProgress ?? (() => {});
  const leaseStart = performance.now();
  let leaseMs = 0;
  progress({ phase: "lease", message: "Taking the publisher lease" });
  return await withLease(deps.lease, async (held) => {
    leaseMs = performance.now() - leaseStart;
    const scanStart = performance.now();
    progress({ phase: "scan", message: "Reading every package record" });
    // Withdrawn identities stay in the table (and their bytes in the pool) but
    // leave every index: the publisher chooses each channel's records.
    const records = await deps.store.listAll({ forPublishing: true });
    const scanMs = performance.now() - scanStart;
    if (held.signal.aborted) throw held.signal.reason;
    const keys = typeof deps.keys === "function" ? await deps.keys() : deps.keys;
    const policy = typeof deps.policy === "function" ? await deps.policy() : deps.policy;
    const result: PublishResult = await publishRepository(records, {
      objects: deps.objects,
      keys,
      repoUrl: deps.repoUrl,
      ...(policy === undefined ? {} : { channels: policy.channels }),
      ...(policy?.keepVersions === undefined ? {} : { keepVersions: policy.keepVersions }),
      ...(deps.history === undefined ? {} : { history: deps.history }),
      ...(deps.startedBy === undefined ? {} : { startedBy: deps.startedBy }),
      ...(deps.now === undefined ? {} : { now: deps.now() }),
      ...(deps.validUntilDays === undefined ? {} : { validUntilDays: deps.validUntilDays }),
      ...(deps.invalidator === undefined ? {} : { invalidator: deps.invalidator }),
      ...(deps.retention === undefined ? {} : { retention: deps.retention }),
      ...(deps.concurrency === undefined ? {} : { concurrency: deps.concurrency }),
      ...(deps.poolCheck === undefined ? {} : { poolCheck: deps.poolCheck }),
      ...(deps.poolCheckScope === undefined ? {} : { poolCheckScope: deps.poolCheckScope }),
      ...(deps.onWarning === undefined ? {} : { onWarning: deps.onWarning }),
      signal: held.signal,
      onProgress: progress,
    });
    return {
      packages: result.packages,
      channels: result.channels.map((channel) => ({
        channel: channel.channel,
        packages: channel.packages,
        ...(channel.history === undefined ? {} : { generation: channel.history.generation }),
      })),
      written: result.written.length,
      skipped: result.skipped,
      pruned: result.pruned.length,
      writtenKeys: result.written,
      date: result.date.toISOString(),
      validUntil: result.validUntil.toISOString(),
      ...(result.invalidation === undefined ? {} : { invalidationId: result.invalidation.id }),
      timings: { ...result.timings, lease: leaseMs, scan: scanMs },
    };
  }, {
    wait: deps.leaseWaitMs ?? 0,
    pollInterval: 250,
    ...(deps.leaseLabel === undefined ? {} : { label: deps.leaseLabel }),
    // One line when it starts waiting, then at most one every 10 s; and a
    // takeover from a dead local holder (README.md, "The publisher lease").
    onMessage: (message: string) => progress({ phase: "lease", message }),
  });
}
