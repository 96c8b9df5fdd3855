/**
 * What the migration and restore tell the operator: a progress bar on stderr
 * (redrawn in place on a terminal, a few plain lines otherwise) and the final
 * summary (total, migrated, skipped as already migrated, errors, conflicts and
 * the verification; `docs/migration.md`).
 *
 * @module
 */

import { type Item, plainItem } from "./attribute_value.ts";
import type { MigrationPhase, MigrationSummary, ProgressEvent } from "./migrate.ts";
import type { RestoreSummary } from "./restore.ts";

const PHASE_LABEL: Record<MigrationPhase, string> = {
  backup: "Backing up legacy items",
  scan: "Reading legacy items",
  check: "Checking the packages table",
  write: "Writing items",
  verify: "Verifying",
  drop: "Deleting legacy items",
};

/** A progress display fed with {@linkcode ProgressEvent}s. */
export interface ProgressPrinter {
  /** Shows `event`. */
  update(event: ProgressEvent): void;
  /** Ends the display (a terminal line is finished with a newline). */
  finish(): void;
}

/**
 * A progress display writing to `write` (the task passes stderr). On a
 * terminal (`isTty`) one line is redrawn in place with a bar; elsewhere (CI
 * logs, pipes) a line is written when a phase starts and at each quarter.
 */
export function progressPrinter(
  write: (text: string) => void,
  options: { isTty: boolean; width?: number },
): ProgressPrinter {
  const width = options.width ?? 30;
  let phase: MigrationPhase | undefined;
  let lastQuarter = -1;
  let open = false;
  let lastDraw = 0;
  const line = (event: ProgressEvent) => {
    const label = PHASE_LABEL[event.phase];
    if (event.total === undefined) return `${label}: ${event.done}`;
    const fraction = event.total === 0 ? 1 : Math.min(1, event.done / event.total);
    const filled = Math.round(fraction * width);
    return `${label} [${"#".repeat(filled)}${
      "-".repeat(width - filled)
    }] ${event.done}/${event.total}`;
  };
  return {
    update(event) {
      const newPhase = event.phase !== phase;
      if (options.isTty) {
        const finished = event.total !== undefined && event.done >= event.total;
        const now = Date.now();
        if (!newPhase && !finished && now - lastDraw < 50) return;
        lastDraw = now;
        if (newPhase && open) write("\n");
        write(`\r\x1b[K${line(event)}`);
        open = true;
      } else {
        const quarter = event.total === undefined || event.total === 0
          ? (event.done === 0 ? 0 : -2)
          : Math.floor((event.done / event.total) * 4);
        if (newPhase || (quarter > lastQuarter && quarter >= 0)) write(`${line(event)}\n`);
        lastQuarter = newPhase ? quarter : Math.max(lastQuarter, quarter);
      }
      phase = event.phase;
    },
    finish() {
      if (open) write("\n");
      open = false;
    },
  };
}

function json(item: Item): string {
  return JSON.stringify(plainItem(item));
}

/** The dry-run samples: each legacy item and what it becomes. */
export function formatSamples(summary: MigrationSummary): string[] {
  return summary.samples.flatMap((sample, i) => {
    const added: Item = {};
    for (const [name, value] of Object.entries(sample.after)) {
      if (sample.before[name] === undefined) added[name] = value;
    }
    return [
      `Sample transformation ${i + 1} (${sample.after.package_id?.S ?? "?"}):`,
      `  OLD: ${json(sample.before)}`,
      Object.keys(added).length === 0
        ? "  NEW: unchanged (already in the new shape)"
        : `  NEW: OLD + ${json(added)}`,
    ];
  });
}

/** The summary of a migration, one line per entry, for stdout. */
export function formatMigrationSummary(summary: MigrationSummary): string {
  const rule = "=".repeat(60);
  const lines: string[] = [];
  if (summary.dryRun) lines.push(...formatSamples(summary), "");
  lines.push(
    rule,
    summary.dryRun ? "Migration dry run completed" : "Migration completed",
    `  Legacy table: ${summary.sourceTable}`,
    `  Packages table: ${summary.targetTable}`,
    `  Total items: ${summary.total}`,
    `  ${summary.dryRun ? "Would migrate" : "Migrated"}: ${summary.migrated}`,
    `  Skipped (already migrated): ${summary.skipped}`,
    ...(summary.superseded.length === 0 ? [] : [
      `  Skipped (already recorded with the same .deb): ${summary.superseded.length}`,
      ...summary.superseded.slice(0, 20).map((entry) =>
        `    superseded ${entry.packageId}: kept the packages table's record (differs in ${
          entry.attributes.join(", ")
        })`
      ),
    ]),
    `  Conflicts: ${summary.conflicts.length}`,
    `  Errors: ${summary.errors.length}`,
  );
  for (const conflict of summary.conflicts.slice(0, 20)) {
    lines.push(
      `    conflict ${conflict.packageId}: the packages table holds a different item (differs in ${
        conflict.attributes.join(", ")
      })`,
    );
  }
  for (const error of summary.errors.slice(0, 20)) {
    lines.push(`    error ${error.packageId}: ${error.message}`);
  }
  if (summary.poolProblems.length > 0) {
    lines.push(`  Pool problems: ${summary.poolProblems.length}`);
    for (const problem of summary.poolProblems.slice(0, 20)) lines.push(`    ${problem}`);
  }
  const verification = summary.verification;
  if (verification !== undefined) {
    lines.push(
      `  Verified: ${verification.verified} of ${verification.legacyCount} legacy items have an equal new item${
        verification.superseded.length === 0
          ? ""
          : `, ${verification.superseded.length} a record of the same .deb`
      }`,
    );
    if (verification.missing.length > 0) {
      lines.push(`    missing: ${verification.missing.slice(0, 20).join(", ")}`);
    }
    for (const different of verification.different.slice(0, 20)) {
      lines.push(`    different: ${different.packageId} (${different.attributes.join(", ")})`);
    }
  }
  if (summary.legacyDropped > 0) lines.push(`  Legacy items deleted: ${summary.legacyDropped}`);
  if (summary.backupFile !== undefined) lines.push(`  Backup: ${summary.backupFile}`);
  lines.push(rule);
  if (summary.dryRun) {
    lines.push(
      "",
      "This was a DRY RUN: nothing was written (no backup file, no table change).",
      "Run without --dry-run to migrate.",
    );
  } else if (summary.complete) {
    lines.push("", "The migration is complete and verified.");
  } else {
    lines.push(
      "",
      "The migration is NOT complete: resolve the items above and run it again (it is safe to re-run).",
    );
  }
  return lines.join("\n");
}

/** The summary of a restore, for stdout. */
export function formatRestoreSummary(summary: RestoreSummary, file: string): string {
  const lines = [
    `Restored ${file} into ${summary.table}`,
    `  Items in the backup: ${summary.total}`,
    `  Restored: ${summary.restored}`,
    `  Skipped (already there, equal): ${summary.skipped}`,
    `  Replaced: ${summary.replaced}`,
    `  Conflicts: ${summary.conflicts.length}`,
  ];
  for (const conflict of summary.conflicts.slice(0, 20)) {
    lines.push(
      `    conflict ${conflict.packageId}: differs in ${
        conflict.attributes.join(", ")
      } (use --overwrite to replace)`,
    );
  }
  return lines.join("\n");
}
