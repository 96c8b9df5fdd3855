/**
 * The human report of `deno task sync` (its `--json` prints the summary
 * itself): one line per new version, skip and failure, then whether it
 * published.
 *
 * @module
 */

import type { SyncSummary } from "../../lambda/sources/sync.ts";

/** Formats a sync summary (as the engine or the deployed Lambda returns it) for people. */
export function formatSyncSummary(given: Partial<SyncSummary>): string {
  // A deployed Lambda of another version may leave fields out.
  const summary = {
    ...given,
    new_packages: given.new_packages ?? [],
    skipped: given.skipped ?? [],
    failures: given.failures ?? [],
    publish_reasons: given.publish_reasons ?? [],
  };
  const lines = [
    `Sync of ${summary.environment ?? "?"}: ${summary.new_packages.length} new, ` +
    `${summary.skipped.length} skipped, ${summary.failures.length} failed`,
  ];
  for (const item of summary.new_packages) {
    lines.push(`  new      ${item.package_name} ${item.version} → ${item.pool_key}`);
  }
  for (const item of summary.skipped) {
    lines.push(
      `  skipped  ${item.package_name}${item.version === undefined ? "" : ` ${item.version}`}: ` +
        item.reason,
    );
  }
  for (const item of summary.failures) {
    lines.push(`  failed   ${item.package_name}: ${item.error}`);
  }
  lines.push(
    summary.published
      ? `Published (${summary.publish_reasons.join("; ")})`
      : summary.publish_error !== undefined
      ? `Publish failed: ${summary.publish_error}`
      : "Nothing to publish",
  );
  return lines.join("\n");
}
