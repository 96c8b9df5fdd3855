/**
 * `deno task migrate`: copies the legacy table (`kiro-package-versions-ENV`,
 * key `version`) into the packages table — backup, transform, validate,
 * conditional writes, verify — and optionally deletes the legacy items.
 * The engine is `tasks/migration/migrate.ts`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { awsClients } from "../lambda/aws/clients.ts";
import { defaultBackupFile } from "./migration/backup.ts";
import { MigrationError } from "./migration/errors.ts";
import { migrateLegacyTable } from "./migration/migrate.ts";
import { poolControlReader, s3Opener } from "./migration/pool_control.ts";
import { formatMigrationSummary, progressPrinter } from "./migration/report.ts";
import { POOL_LAYOUTS, type PoolLayout } from "./migration/transform.ts";
import { loadLegacyDefaults, poolChecker } from "./migration/wiring.ts";
import { S3ObjectStore } from "../lambda/aws/object_store.ts";
import { ConfigError, DEFAULT_CONFIG_DIR } from "../lambda/sources/config.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, printJson } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";

const NAME = "migrate";

/** Runs the task; returns the exit code (0: complete and verified, or a clean dry run). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: NAME,
    summary: "Migrate the legacy kiro table into the packages table (backup, transform, verify)",
    description: [
      "Steps: check both tables; back up every legacy item to a JSONL file (DynamoDB JSON, exact",
      "types), flush it and read it back; add package_name, package_id, architecture, package_type,",
      "the Debian fields from config/packages/kiro.yaml, pool_key and a control paragraph to each",
      "item (existing fields are kept as they are); validate every item; check that each record's",
      ".deb is in the bucket at its pool_key with the record's size and hash; take each item's",
      "control paragraph from its .deb (only the head of the file is read: --control pool), so that",
      "the published stanza matches the package; write the items missing from the packages table with",
      "conditional puts (never overwriting: equal items are skipped, different ones reported as",
      "conflicts); verify that every legacy item has an equal new item. A version the packages",
      "table already holds with the same .deb (same SHA-256 and size, e.g. recorded by the scheduled",
      "sync) but other fields is kept as it is and reported as superseded (--strict: a conflict).",
      "",
      "--dry-run reads only and writes NOTHING anywhere: no backup file, no table change. It prints",
      "the counts and sample items before/after. Without --dry-run a backup file is always written",
      "(--backup-file, or backups/legacy-ENV-<UTC timestamp>.jsonl); an existing file is never",
      "replaced. Re-running is safe: an interrupted run is finished by running again.",
      "",
      "Pool layout: the legacy system stored each .deb at pool/main/k/kiro/<actual_filename>,",
      "so the records point there (legacy). Use canonical (pool/main/k/kiro/kiro_<version>_<arch>.deb)",
      "only after copying the objects there.",
      "",
      "Exit codes: 0 migration complete and verified (dry run: nothing blocks a real run);",
      "1 incomplete (conflicts, errors, verification failed) or stopped (message says why);",
      "2 usage error. Undo with: deno task restore --env ENV --backup-file FILE --into legacy",
    ].join("\n"),
    options: {
      env: ENV_OPTION,
      "dry-run": { type: "boolean", description: "show what would happen; write nothing anywhere" },
      "backup-file": {
        type: "string",
        valueName: "FILE",
        description: "where to write the backup (must not exist; not with --dry-run)",
      },
      "source-table": {
        type: "string",
        valueName: "TABLE",
        description: "the legacy table (default: the stack's legacyTableName)",
      },
      "drop-legacy": {
        type: "boolean",
        description: "delete the legacy items after a verified run (the backup stays on disk)",
      },
      "pool-layout": {
        type: "string",
        valueName: "LAYOUT",
        choices: POOL_LAYOUTS,
        default: "legacy",
        description: "where the records say the .deb files are",
      },
      control: {
        type: "string",
        valueName: "SOURCE",
        choices: ["pool", "synthesize"],
        default: "pool",
        description:
          "where items without one get their control paragraph: their .deb, or their fields",
      },
      "skip-pool-check": {
        type: "boolean",
        description: "do not check that the .deb files are in the bucket (not recommended)",
      },
      strict: {
        type: "boolean",
        description:
          "count a packages-table record of the same .deb with other fields as a conflict",
      },
      "config-dir": {
        type: "string",
        valueName: "DIR",
        default: DEFAULT_CONFIG_DIR,
        description: "package configurations",
      },
      concurrency: {
        type: "string",
        valueName: "N",
        default: "16",
        description: "conditional writes in flight",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task migrate prod --dry-run",
      "deno task migrate --env dev --backup-file backups/dev-migration.jsonl",
      "deno task migrate --env prod --drop-legacy --json",
      "deno task migrate local --dry-run --source-table kiro-package-versions-local --strict",
      "deno task migrate dev --pool-layout canonical --control synthesize --concurrency 8",
      "deno task migrate dev --dry-run --skip-pool-check --config-dir config/packages",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const values = cli.values;
  const dryRun = values["dry-run"];
  const usage = (message: string) => {
    console.error(`${NAME}: ${message}\nRun "deno task ${NAME} --help" for usage.`);
    return 2;
  };
  if (dryRun && values["backup-file"] !== undefined) {
    return usage("--dry-run writes nothing, not even a backup: drop --backup-file or --dry-run");
  }
  if (dryRun && values["drop-legacy"]) {
    return usage("--dry-run deletes nothing: drop --drop-legacy or --dry-run");
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    return usage(`--concurrency must be a whole number 1–256 (got "${values.concurrency}")`);
  }
  try {
    const defaults = await loadLegacyDefaults(values["config-dir"]);
    return await withEnvironment({ env: values.env }, async (outputs, environment) => {
      let backupFile = values["backup-file"];
      if (!dryRun && backupFile === undefined) {
        backupFile = defaultBackupFile(environment);
        await mkdir(dirname(backupFile), { recursive: true });
      }
      const clients = awsClients(outputs);
      const progress = progressPrinter(
        (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
        {
          isTty: Deno.stderr.isTerminal(),
        },
      );
      const sourceTable = values["source-table"] ?? outputs.legacyTableName;
      console.error(
        `${
          dryRun ? "Dry run: " : ""
        }migrating ${sourceTable} → ${outputs.tableName} (${environment})` +
          (backupFile === undefined ? "" : `, backup ${backupFile}`),
      );
      try {
        const summary = await migrateLegacyTable(clients.dynamoRaw, {
          sourceTable,
          targetTable: outputs.tableName,
          defaults,
          poolLayout: values["pool-layout"] as PoolLayout,
          dryRun,
          ...(backupFile === undefined ? {} : { backupFile }),
          dropLegacy: values["drop-legacy"],
          environment,
          concurrency,
          strict: values.strict,
          onProgress: (event) => progress.update(event),
          ...(values.control === "pool"
            ? {
              controlFor: poolControlReader(s3Opener(clients.s3, outputs.bucketName), {
                architectures: outputs.architectures,
              }),
            }
            : {}),
          ...(values["skip-pool-check"]
            ? {}
            : { checkPool: poolChecker(new S3ObjectStore(clients.s3, outputs.bucketName)) }),
        });
        progress.finish();
        if (values.json) printJson({ environment, ...summary });
        else console.log(formatMigrationSummary(summary));
        return summary.complete ? 0 : 1;
      } catch (error) {
        progress.finish();
        if (
          error instanceof MigrationError && backupFile !== undefined &&
          error.kind !== "backup-exists" && existsSync(backupFile)
        ) {
          console.error(`The backup taken before stopping is kept at ${backupFile}`);
        }
        throw error;
      } finally {
        progress.finish();
        clients.destroy();
      }
    });
  } catch (error) {
    if (error instanceof MigrationError && error.kind === "usage") {
      console.error(`${NAME}: ${error.message}`);
      return 2;
    }
    return taskFailureCode(error, NAME, { failures: [MigrationError, ConfigError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
