/**
 * Channels: the APT suites the repository publishes (`dists/CHANNEL/`), all
 * sharing one pool (`docs/design.md`, "Channels").
 *
 * A record's channel membership is data in the table (`channels`); its bytes
 * stay immutable. What a channel's index lists is a pure function of the
 * records and the retention policy ({@linkcode channelIndex}), so the
 * publisher, the convergence check, `verify`, `list`, `prune-pool` and
 * `rollback` all agree on it.
 *
 * @module
 */

import { compareVersions } from "./version.ts";
import { isPublished, type PackageIdentity, type PackageRecord } from "./package_record.ts";

/** The channel a record is in when it says nothing (records made before channels existed). */
export const DEFAULT_CHANNEL = "stable";

/** The channels a repository publishes unless its stack says otherwise. */
export const DEFAULT_CHANNELS: readonly string[] = ["stable", "beta"];

/** How many versions per (package, architecture) each channel's index keeps; absent: all. */
export type KeepVersions = ReadonlyMap<string, number>;

/** What decides which records a channel's index lists. */
export interface ChannelPolicy {
  /** The channels published, the default channel first. */
  channels: readonly string[];
  /** Package name → how many of its newest versions each channel keeps, per architecture. */
  keepVersions?: KeepVersions;
}

/** One audited change of a record's channel membership. */
export interface ChannelChange {
  channel: string;
  action: "added" | "removed";
  /** When (ISO 8601, UTC). */
  at: string;
  /** Who (the AWS caller identity, or the local user name). */
  by: string;
  /** Why (e.g. `promoted`, `rollback to generation 4`). */
  reason: string;
}

/** What a channel's index lists, and what retention keeps out of it. */
export interface ChannelSelection {
  /** The records the index lists. */
  listed: PackageRecord[];
  /** Published members of the channel left out by `keep_versions` ("retained out"). */
  retainedOut: PackageRecord[];
}

const CHANNEL_NAME = /^[a-z0-9][a-z0-9.+-]{0,63}$/;

/**
 * Why `name` cannot be a channel (an APT suite and an S3 folder), or
 * `undefined` when it can.
 */
export function channelNameProblem(name: string): string | undefined {
  if (CHANNEL_NAME.test(name)) return undefined;
  return `"${name}" is not a channel name: use 1 to 64 lowercase letters, digits, ".", "+" ` +
    `or "-", starting with a letter or digit`;
}

/** The channels `record` is a member of (a record without the field is in {@linkcode DEFAULT_CHANNEL}). */
export function channelsOf(record: Pick<PackageRecord, "channels">): readonly string[] {
  return record.channels ?? [DEFAULT_CHANNEL];
}

/** Whether `record` is a member of `channel`. */
export function inChannel(record: Pick<PackageRecord, "channels">, channel: string): boolean {
  return channelsOf(record).includes(channel);
}

/** `NAME VERSION ARCH`: how history entries and `--json` name an identity. */
export function identityLabel(identity: PackageIdentity): string {
  return `${identity.package_name} ${identity.version} ${identity.architecture}`;
}

/**
 * What `channel`'s index lists: the published, not pruned members of the
 * channel, keeping for each (package, architecture) only the
 * `keepVersions.get(package)` newest versions (dpkg order) when a limit is
 * set. Both lists keep the order of `records`.
 */
export function channelIndex(
  records: readonly PackageRecord[],
  channel: string,
  options: { keepVersions?: KeepVersions } = {},
): ChannelSelection {
  const members = records.filter((record) =>
    isPublished(record) && record.pruned_at === undefined && inChannel(record, channel)
  );
  const keep = options.keepVersions;
  if (keep === undefined || keep.size === 0) return { listed: members, retainedOut: [] };
  const groups = new Map<string, PackageRecord[]>();
  for (const record of members) {
    if (!keep.has(record.package_name)) continue;
    const group = `${record.package_name}\0${record.architecture}`;
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const out = new Set<PackageRecord>();
  for (const group of groups.values()) {
    const limit = keep.get(group[0]?.package_name ?? "") ?? Infinity;
    const newestFirst = [...group].sort((a, b) => compareVersions(b.version, a.version));
    for (const record of newestFirst.slice(limit)) out.add(record);
  }
  return {
    listed: members.filter((record) => !out.has(record)),
    retainedOut: members.filter((record) => out.has(record)),
  };
}

function keepOf(policy: ChannelPolicy): { keepVersions?: KeepVersions } {
  return policy.keepVersions === undefined ? {} : { keepVersions: policy.keepVersions };
}

/** Every channel's selection under `policy`, in the policy's order. */
export function channelIndexes(
  records: readonly PackageRecord[],
  policy: ChannelPolicy,
): Map<string, ChannelSelection> {
  return new Map(
    policy.channels.map((channel) => [channel, channelIndex(records, channel, keepOf(policy))]),
  );
}
