/**
 * Promotion (`deno task promote`): moving a tested version forward without
 * rebuilding it (`docs/design.md`, "Channels").
 *
 * - **Between channels** ({@linkcode promoteToChannel}): the identity's
 *   channel membership gains the target channel (audited: when, who, why);
 *   no byte moves, and the environment publishes once.
 * - **Between environments** ({@linkcode promoteAcrossEnvironments}): the
 *   source environment's pool object is copied to the target's staging area
 *   (server-side when the operator's credentials reach both buckets, else
 *   streamed and hashed on the way), then enters the target's pool and table
 *   through the one intake (`lambda/store/intake.ts`), which checks size and
 *   SHA-256 against the source record and refuses other bytes already
 *   recorded in the target. `kiro-repo` is refused: its bytes name its own
 *   environment's URL.
 *
 * @module
 */

import { randomUUID } from "node:crypto";
import { DEB_CONTENT_TYPE } from "../../lambda/aws/object_headers.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { DEFAULT_ARCHITECTURES } from "../../lambda/domain/architectures.ts";
import { channelsOf, DEFAULT_CHANNEL } from "../../lambda/domain/channels.ts";
import {
  describeIdentity,
  isPublished,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { Hasher } from "../../lambda/hashing.ts";
import { KIRO_REPO_PACKAGE } from "../../lambda/publish/publisher.ts";
import { admitStaged, type RecordStore } from "../../lambda/store/intake.ts";
import type { PackageStore, PutResult } from "../../lambda/store/package_store.ts";
import { type IdentitySelection, selectIdentities } from "../lib/identity_selection.ts";

/** Where promoted files wait for the intake (the bucket's `staging/` lifecycle rule expires leftovers). */
export const PROMOTE_STAGING_PREFIX = "staging/promote/";

/** The promotion cannot be carried out (nothing recorded, withdrawn, kiro-repo, unknown channel). */
export class PromotionError extends Error {
  override name = "PromotionError";
}

/** Refuses records that cannot move forward: withdrawn or pruned ones. */
function checkPromotable(records: readonly PackageRecord[], where: string): void {
  const problems = records.flatMap((record) =>
    !isPublished(record)
      ? [`${describeIdentity(record)} is withdrawn in ${where} (reinstate it first)`]
      : record.pruned_at !== undefined
      ? [`${describeIdentity(record)}'s pool object was pruned in ${where} (add the .deb again)`]
      : []
  );
  if (problems.length > 0) {
    throw new PromotionError(`Cannot promote: ${problems.join("; ")}; nothing was changed`);
  }
}

/** A promotion between channels of one environment. */
export interface ChannelPromotionRequest extends IdentitySelection {
  /** The channel to add. */
  to: string;
  /** Who promotes (the operator's identity). */
  by: string;
  dryRun?: boolean;
}

/** What {@linkcode promoteToChannel} needs. */
export interface ChannelPromotionDeps {
  store: Pick<PackageStore, "versionRecords" | "changeChannel">;
  /** The channels the environment publishes. */
  channels: readonly string[];
  /** Makes the live repository match the table; returns whether it published. */
  converge: () => Promise<boolean>;
  now?: () => Date;
  onProgress?: (message: string) => void;
}

/** What a promotion did. */
export interface PromotionResult {
  /** The identities that entered the channel(s) (or would, on a dry run), as they are now. */
  changed: PackageRecord[];
  /** The identities already there. */
  unchanged: PackageRecord[];
  /** Whether the environment was published. */
  published: boolean;
  dryRun: boolean;
}

function checkChannel(channel: string, channels: readonly string[], where: string): void {
  if (!channels.includes(channel)) {
    throw new PromotionError(
      `Cannot promote to ${channel}: ${where} publishes ${channels.join(", ")}; use one of those`,
    );
  }
}

/**
 * Adds the channel `request.to` to the chosen identities' membership, then
 * publishes once (see the module docs). Identities already in the channel
 * are left alone, so running it again after an interruption finishes the job.
 */
export async function promoteToChannel(
  request: ChannelPromotionRequest,
  deps: ChannelPromotionDeps,
): Promise<PromotionResult> {
  const progress = deps.onProgress ?? (() => {});
  checkChannel(request.to, deps.channels, "the environment");
  const chosen = await selectIdentities(request, deps.store, { action: "promote" });
  checkPromotable(chosen, "the environment");
  const todo = chosen.filter((record) => !channelsOf(record).includes(request.to));
  const unchanged = chosen.filter((record) => channelsOf(record).includes(request.to));
  for (const record of unchanged) {
    progress(`${describeIdentity(record)} is already in ${request.to}`);
  }
  if (request.dryRun === true) {
    for (const record of todo) progress(`Would add ${describeIdentity(record)} to ${request.to}`);
    return { changed: todo, unchanged, published: false, dryRun: true };
  }
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const changed: PackageRecord[] = [];
  for (const record of todo) {
    progress(`Adding ${describeIdentity(record)} to ${request.to}`);
    const from = channelsOf(record).join(", ") || "no channel";
    const { record: now } = await deps.store.changeChannel(record, {
      channel: request.to,
      action: "added",
      at,
      by: request.by,
      reason: `promoted from ${from}`,
    });
    changed.push(now);
  }
  const published = await deps.converge();
  return { changed, unchanged, published, dryRun: false };
}

/** One environment's side of a promotion between environments. */
export interface PromotionSide {
  /** `dev`, `prod`, … for messages. */
  environment: string;
  /** Its bucket's name. */
  bucketName: string;
  objects: ObjectStore;
}

/** A promotion from one environment to another. */
export interface EnvironmentPromotionRequest extends IdentitySelection {
  /**
   * The target channels (default: the source record's channels that the
   * target publishes, else the target's default channel).
   */
  to?: string;
  by: string;
  dryRun?: boolean;
}

/** What {@linkcode promoteAcrossEnvironments} needs. */
export interface EnvironmentPromotionDeps {
  source: PromotionSide & { store: Pick<PackageStore, "versionRecords"> };
  target: PromotionSide & {
    store: RecordStore & Pick<PackageStore, "changeChannel">;
    /** The channels the target publishes, its default first. */
    channels: readonly string[];
    /** The architectures the target publishes (default: the door's default list). */
    architectures?: readonly string[] | undefined;
  };
  /**
   * Copies the source object to `stagingKey` in the target bucket
   * server-side; resolves `false` when the credentials cannot (the bytes are
   * then streamed). Absent: always streamed.
   */
  copyServerSide?: (
    sourceKey: string,
    stagingKey: string,
    record: PackageRecord,
  ) => Promise<boolean>;
  /** Makes the target's live repository match its table; returns whether it published. */
  converge: () => Promise<boolean>;
  now?: () => Date;
  onProgress?: (message: string) => void;
}

/** What happened to one identity in a promotion between environments. */
export interface EnvironmentPromotionItem {
  record: PackageRecord;
  /** `created` in the target, `unchanged` (already recorded with the same bytes). */
  outcome: PutResult;
  /** How the bytes travelled (absent when they did not: already there, or a dry run). */
  copied?: "server-side" | "streamed";
  /** Channels added to an identity the target already had. */
  channelsAdded: string[];
}

/** What {@linkcode promoteAcrossEnvironments} did. */
export interface EnvironmentPromotionResult {
  items: EnvironmentPromotionItem[];
  published: boolean;
  dryRun: boolean;
}

/** The record the target environment gets for `source`'s bytes. */
function targetRecord(
  source: PackageRecord,
  options: { channels: string[]; now: Date; bucketName: string },
): PackageRecord {
  const {
    channel_history: _history,
    withdrawn_at: _at,
    withdrawn_by: _by,
    withdraw_reason: _reason,
    pruned_at: _pruned,
    ...rest
  } = source;
  return {
    ...rest,
    status: "published",
    channels: options.channels,
    deb_url: `s3://${options.bucketName}/${source.pool_key}`,
    processed_timestamp: options.now.toISOString(),
  };
}

/**
 * Copies the chosen identities' exact bytes from the source environment to
 * the target and records them there, then publishes the target once (see
 * the module docs). Throws {@linkcode PromotionError} for kiro-repo, a
 * withdrawn or pruned source, or an unknown channel, `RecordConflictError`
 * when the target has other bytes under an identity (nothing of that
 * identity is written), and `Error` when the copied bytes are not the
 * source record's.
 */
export async function promoteAcrossEnvironments(
  request: EnvironmentPromotionRequest,
  deps: EnvironmentPromotionDeps,
): Promise<EnvironmentPromotionResult> {
  const progress = deps.onProgress ?? (() => {});
  const { source, target } = deps;
  if (request.name === KIRO_REPO_PACKAGE) {
    throw new PromotionError(
      `Cannot promote ${KIRO_REPO_PACKAGE} from ${source.environment} to ${target.environment}: ` +
        `its bytes name ${source.environment}'s repository URL; build it for the target with ` +
        `deno task build-kiro-repo --env ${target.environment}`,
    );
  }
  if (request.to !== undefined) checkChannel(request.to, target.channels, target.environment);
  const chosen = await selectIdentities(request, source.store, {
    action: "promote",
    where: source.environment,
  });
  checkPromotable(chosen, source.environment);
  const architectures = target.architectures ?? DEFAULT_ARCHITECTURES;
  const foreign = chosen.filter((record) => !architectures.includes(record.architecture));
  if (foreign.length > 0) {
    throw new PromotionError(
      `Cannot promote ${foreign.map(describeIdentity).join(", ")} to ${target.environment}: ` +
        `it publishes ${architectures.join(", ")}; add the architecture to its architectures ` +
        "setting first",
    );
  }
  const now = (deps.now ?? (() => new Date()))();
  const items: EnvironmentPromotionItem[] = [];
  for (const record of chosen) {
    const channels = request.to !== undefined
      ? [request.to]
      : channelsOf(record).filter((channel) => target.channels.includes(channel));
    const wanted = channels.length > 0 ? channels : [target.channels[0] ?? DEFAULT_CHANNEL];
    const promoted = targetRecord(record, {
      channels: wanted,
      now,
      bucketName: source.bucketName,
    });
    const what = `${describeIdentity(record)} (${target.environment} ${wanted.join(", ")})`;
    const existing = await target.store.get(record);
    if (request.dryRun === true) {
      progress(
        existing === undefined
          ? `Would copy ${record.pool_key} (${record.file_size} bytes) and record ${what}`
          : `${describeIdentity(record)} is already recorded in ${target.environment}`,
      );
      items.push({
        record: promoted,
        outcome: existing === undefined ? "created" : "unchanged",
        channelsAdded: [],
      });
      continue;
    }
    let copied: EnvironmentPromotionItem["copied"];
    const stagingKey = `${PROMOTE_STAGING_PREFIX}${randomUUID()}/${
      record.pool_key.slice(record.pool_key.lastIndexOf("/") + 1)
    }`;
    if (existing === undefined) {
      copied = await copyBytes(record, stagingKey, deps);
      progress(`Copied ${record.pool_key} to ${target.environment} (${copied})`);
    }
    const admitted = await admitStaged({ stagingKey, record: promoted }, {
      objects: target.objects,
      records: target.store,
      onWarning: progress,
    });
    const channelsAdded: string[] = [];
    if (admitted.outcome === "unchanged") {
      for (const channel of wanted) {
        const { changed } = await target.store.changeChannel(record, {
          channel,
          action: "added",
          at: now.toISOString(),
          by: request.by,
          reason: `promoted from ${source.environment}`,
        });
        if (changed) channelsAdded.push(channel);
      }
      progress(
        `${describeIdentity(record)} is already recorded in ${target.environment} with the same ` +
          `bytes${channelsAdded.length > 0 ? `; added to ${channelsAdded.join(", ")}` : ""}`,
      );
    } else {
      progress(`Recorded ${what}`);
    }
    items.push({
      record: admitted.record,
      outcome: admitted.outcome,
      ...(copied === undefined ? {} : { copied }),
      channelsAdded,
    });
  }
  if (request.dryRun === true) return { items, published: false, dryRun: true };
  const published = await deps.converge();
  return { items, published, dryRun: false };
}

/**
 * Puts `record`'s bytes from the source pool at `stagingKey` in the target
 * bucket: server-side when possible, else streamed with the size and SHA-256
 * checked against the record.
 */
async function copyBytes(
  record: PackageRecord,
  stagingKey: string,
  deps: EnvironmentPromotionDeps,
): Promise<"server-side" | "streamed"> {
  const { source, target } = deps;
  if (deps.copyServerSide !== undefined) {
    if (await deps.copyServerSide(record.pool_key, stagingKey, record)) {
      const copied = await target.objects.head(stagingKey);
      if (copied?.size === record.file_size) return "server-side";
      await target.objects.delete(stagingKey);
      throw new Error(
        `Cannot promote ${describeIdentity(record)}: the server-side copy holds ${
          copied?.size ?? "no"
        } bytes, not ${record.file_size}; run the same command again`,
      );
    }
  }
  const body = await source.objects.read(record.pool_key);
  if (body === undefined) {
    throw new PromotionError(
      `Cannot promote ${describeIdentity(record)}: its pool object ${record.pool_key} is gone ` +
        `from ${source.environment}; add the .deb there again first`,
    );
  }
  const hash = new Hasher("sha256");
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  await target.objects.put(stagingKey, counted, {
    contentType: DEB_CONTENT_TYPE,
    cacheControl: "no-store",
    sha256: record.sha256_hash,
  });
  const sha256 = hash.digest();
  if (sha256 !== record.sha256_hash || hash.size !== record.file_size) {
    await target.objects.delete(stagingKey);
    throw new Error(
      `Cannot promote ${describeIdentity(record)}: ${source.environment}'s pool object has ` +
        `SHA-256 ${sha256} (${hash.size} bytes), but its record says ${record.sha256_hash} ` +
        `(${record.file_size} bytes); nothing was recorded in ${target.environment}`,
    );
  }
  return "streamed";
}
