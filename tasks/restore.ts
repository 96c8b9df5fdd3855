/**
 * `deno task restore`: puts a backup written by `deno task migrate` back into
 * the legacy table or the packages table, exactly (types and all). The engine
 * is `tasks/migration/restore.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { MigrationError } from "./migration/errors.ts";
import { formatRestoreSummary, progressPrinter } from "./migration/report.ts";
import { restoreBackup } from "./migration/restore.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, printJson } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";

const NAME = "restore";

/** Runs the task; returns the exit code (0: every item is in the table as backed up). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: NAME,
    summary: "Put a migration backup (JSONL) back into the legacy or the packages table",
    description: [
      "The whole file is checked first (header, every item, the End line with the count) and every",
      "item must carry the table's key: a malformed backup or the wrong table writes nothing.",
      "Items are written only where no item has their key; an item already there with equal",
      "contents is skipped, one with different contents is reported and left alone unless",
      "--overwrite is given. The table must exist.",
      "",
      "Exit codes: 0 every item is in the table as backed up; 1 conflicts remain or the restore",
      "stopped (the message says why); 2 usage error.",
    ].join("\n"),
    options: {
      env: ENV_OPTION,
      "backup-file": {
        type: "string",
        valueName: "FILE",
        description: "the backup to restore (required)",
      },
      into: {
        type: "string",
        valueName: "WHICH",
        choices: ["legacy", "new"],
        default: "legacy",
        description: "legacy (the stack's legacyTableName) or new (its tableName)",
      },
      overwrite: {
        type: "boolean",
        description: "replace items whose contents differ from the backup",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task restore --env dev --backup-file backups/legacy-dev-20260115T143022Z.jsonl",
      "deno task restore local --backup-file b.jsonl --into new --overwrite --json",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const file = cli.values["backup-file"];
  if (file === undefined) {
    console.error(`${NAME}: --backup-file is required\nRun "deno task ${NAME} --help" for usage.`);
    return 2;
  }
  try {
    return await withEnvironment({ env: cli.values.env }, async (outputs) => {
      const table = cli.values.into === "new" ? outputs.tableName : outputs.legacyTableName;
      const clients = awsClients(outputs);
      const progress = progressPrinter(
        (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
        { isTty: Deno.stderr.isTerminal() },
      );
      try {
        const summary = await restoreBackup(clients.dynamoRaw, file, {
          table,
          overwrite: cli.values.overwrite,
          onProgress: (event) => progress.update(event),
        });
        progress.finish();
        if (cli.values.json) printJson({ file, ...summary });
        else console.log(formatRestoreSummary(summary, file));
        return summary.conflicts.length === 0 ? 0 : 1;
      } finally {
        progress.finish();
        clients.destroy();
      }
    });
  } catch (error) {
    return taskFailureCode(error, NAME, { failures: [MigrationError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
