/**
 * What `deno task list` shows: every identity of the table (or of one
 * package), published ones only unless asked for all, as a table for people
 * or as JSON for scripts.
 *
 * @module
 */

import {
  channelIndexes,
  type ChannelPolicy,
  channelsOf,
  DEFAULT_CHANNELS,
  identityLabel,
} from "../../lambda/domain/channels.ts";
import { isPublished, type PackageRecord } from "../../lambda/domain/package_record.ts";

/** One listed identity (the JSON shape of `deno task list --json`). */
export interface ListedIdentity {
  package_name: string;
  version: string;
  architecture: string;
  status: "published" | "withdrawn";
  file_size: number;
  sha256_hash: string;
  pool_key: string;
  /** When it was recorded (`processed_timestamp`). */
  recorded_at: string;
  /** How it arrived (`package_type`). */
  package_type: string;
  withdrawn_at?: string;
  withdrawn_by?: string;
  withdraw_reason?: string;
  /** The channels it is a member of. */
  channels: string[];
  /** The channels whose index lists it now. */
  indexed_in: string[];
  /** Member channels whose index leaves it out because of `keep_versions` ("retained out"). */
  retained_out: string[];
  /** When prune-pool deleted its pool object. */
  pruned_at?: string;
}

/** Which identities {@linkcode listIdentities} keeps. */
export interface ListOptions {
  /** Only this package. */
  name?: string;
  /**
   * Also the identities no index lists: withdrawn, retained out, in no
   * channel, pruned (default false).
   */
  all?: boolean;
  /** The channels and retention (default `stable`, `beta`, no retention). */
  policy?: ChannelPolicy;
}

/**
 * The identities of `records` to list, in the table's order (name, dpkg
 * version order, architecture).
 */
export function listIdentities(
  records: readonly PackageRecord[],
  options: ListOptions = {},
): ListedIdentity[] {
  const policy = options.policy ?? { channels: DEFAULT_CHANNELS };
  const indexed = new Map<string, string[]>();
  const retained = new Map<string, string[]>();
  for (const [channel, selection] of channelIndexes(records, policy)) {
    for (const record of selection.listed) {
      indexed.set(identityLabel(record), [...(indexed.get(identityLabel(record)) ?? []), channel]);
    }
    for (const record of selection.retainedOut) {
      const label = identityLabel(record);
      retained.set(label, [...(retained.get(label) ?? []), channel]);
    }
  }
  return records
    .filter((record) => options.name === undefined || record.package_name === options.name)
    .filter((record) => options.all === true || indexed.has(identityLabel(record)))
    .map((record) => {
      const listed: ListedIdentity = {
        package_name: record.package_name,
        version: record.version,
        architecture: record.architecture,
        status: isPublished(record) ? "published" : "withdrawn",
        file_size: record.file_size,
        sha256_hash: record.sha256_hash,
        pool_key: record.pool_key,
        recorded_at: record.processed_timestamp,
        package_type: record.package_type,
        channels: [...channelsOf(record)],
        indexed_in: indexed.get(identityLabel(record)) ?? [],
        retained_out: retained.get(identityLabel(record)) ?? [],
      };
      if (record.pruned_at !== undefined) listed.pruned_at = record.pruned_at;
      if (record.withdrawn_at !== undefined) listed.withdrawn_at = record.withdrawn_at;
      if (record.withdrawn_by !== undefined) listed.withdrawn_by = record.withdrawn_by;
      if (record.withdraw_reason !== undefined) listed.withdraw_reason = record.withdraw_reason;
      return listed;
    });
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * `identities` as a text table with a header: name, version, architecture,
 * status, size, recorded date, source, the first 12 hex digits of the SHA-256
 * and the pool key; a withdrawn identity gets a line with when, who and why.
 */
export function formatIdentities(identities: readonly ListedIdentity[]): string {
  const header = [
    "NAME",
    "VERSION",
    "ARCH",
    "STATUS",
    "CHANNELS",
    "SIZE",
    "RECORDED",
    "SOURCE",
    "SHA256",
  ];
  const rows = identities.map((i) => [
    i.package_name,
    i.version,
    i.architecture,
    i.pruned_at !== undefined ? "pruned" : i.status,
    i.channels.map((channel) =>
      i.retained_out.includes(channel) ? `${channel}(retained out)` : channel
    ).join(",") || "-",
    humanSize(i.file_size),
    i.recorded_at.slice(0, 10),
    i.package_type,
    i.sha256_hash.slice(0, 12),
    i.pool_key,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => column < widths.length ? cell.padEnd(widths[column]!) : cell)
      .join("  ").trimEnd();
  const lines = [line([...header, "POOL KEY"])];
  for (const [index, row] of rows.entries()) {
    lines.push(line(row));
    const identity = identities[index]!;
    if (identity.status === "withdrawn") {
      lines.push(
        `    withdrawn ${identity.withdrawn_at ?? "(no date)"} by ${
          identity.withdrawn_by ?? "(unknown)"
        }: ${identity.withdraw_reason ?? "(no reason)"}`,
      );
    }
  }
  return lines.join("\n");
}
