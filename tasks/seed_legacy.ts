/**
 * `deno task seed-legacy --env local [--count N]`: creates the local legacy
 * table (`kiro-package-versions-local`, key `version`) and fills it with
 * realistic legacy Kiro items, each with a small real `.deb` in the bucket
 * where the legacy system kept it — the starting point of the migration demo.
 * The engine is `tasks/migration/legacy_seed.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { seedLegacyTable } from "./migration/legacy_seed.ts";
import { loadLegacyDefaults } from "./migration/wiring.ts";
import { S3ObjectStore } from "../lambda/aws/object_store.ts";
import { ConfigError, DEFAULT_CONFIG_DIR } from "../lambda/sources/config.ts";
import { ENV_OPTION, parseCommandLine } from "./lib/cli.ts";
import { environmentName, taskFailureCode, withEnvironment } from "./lib/env.ts";

const NAME = "seed-legacy";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: NAME,
    summary: "Fill the local legacy table with realistic kiro items (migration demo)",
    description: [
      "Local only: the legacy tables of dev and prod are real and never written by this task.",
      "Creates kiro-package-versions-local when missing, builds one small .deb per version,",
      "uploads it to pool/main/k/kiro/<actual_filename> (the legacy layout) and writes the",
      "legacy item with its real size and hashes. Running it again rewrites the same items.",
    ].join("\n"),
    options: {
      env: {
        ...ENV_OPTION,
        choices: ["local"],
        description: "environment: local only (the legacy tables of dev and prod are real)",
      },
      count: { type: "string", valueName: "N", default: "5", description: "how many versions" },
      "config-dir": {
        type: "string",
        valueName: "DIR",
        default: DEFAULT_CONFIG_DIR,
        description: "package configurations (the .deb control fields)",
      },
    },
    examples: [
      "deno task seed-legacy local --count 12",
      "deno task seed-legacy --env local --config-dir config/packages",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const count = Number(cli.values.count);
  if (!Number.isInteger(count) || count < 0 || count > 10_000) {
    console.error(`${NAME}: --count must be a whole number 0–10000 (got "${cli.values.count}")`);
    return 2;
  }
  try {
    const name = environmentName({ env: cli.values.env });
    if (name !== "local") {
      console.error(
        `${NAME}: only the local environment can be seeded (got ${name}); the legacy tables of dev and prod are real`,
      );
      return 2;
    }
    const defaults = await loadLegacyDefaults(cli.values["config-dir"]);
    return await withEnvironment({ env: name }, async (outputs) => {
      const clients = awsClients(outputs);
      try {
        const result = await seedLegacyTable(
          clients.dynamoRaw,
          new S3ObjectStore(clients.s3, outputs.bucketName),
          {
            table: outputs.legacyTableName,
            count,
            defaults,
            onProgress: (done, total) => {
              if (done === total || done % 25 === 0) console.error(`Seeded ${done}/${total}`);
            },
          },
        );
        console.log(
          `${
            result.createdTable ? "Created" : "Filled"
          } ${outputs.legacyTableName}: ${result.items.length} legacy kiro versions (${
            result.items.map((item) => item.version?.S).join(", ")
          }), .deb files under pool/main/k/kiro/`,
        );
        return 0;
      } finally {
        clients.destroy();
      }
    });
  } catch (error) {
    return taskFailureCode(error, NAME, { failures: [ConfigError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
