/**
 * `deno task list [NAME] [ENV]`: what the repository holds, from the packages
 * table (`tasks/lifecycle/listing.ts`).
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { channelPolicyFor } from "../lambda/dependencies.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { formatIdentities, listIdentities } from "./lifecycle/listing.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "list",
    summary: "List every package identity the repository holds (name, version, architecture)",
    description:
      "Reads the packages table. Without --all only what some channel's index lists is\n" +
      "shown; --all adds the withdrawn, the retained out (keep_versions), those in no\n" +
      "channel and the pruned. --json prints one JSON array of objects with the keys\n" +
      "package_name, version, architecture, status, file_size, sha256_hash, pool_key,\n" +
      "recorded_at, package_type, channels, indexed_in, retained_out (and withdrawn_at,\n" +
      "withdrawn_by, withdraw_reason for withdrawn ones, pruned_at for pruned ones).",
    positionals: [{ name: "NAME", description: "only this package" }],
    options: {
      env: ENV_OPTION,
      all: {
        type: "boolean",
        description: "also what no index lists (withdrawn, retained out, pruned)",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task list",
      "deno task list kiro prod --all",
      "deno task list --env dev --json",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const [name] = cli.positionals;
  try {
    return await withEnvironment({ env: cli.values.env }, async (outputs) => {
      const clients = awsClients(outputs);
      try {
        const records = await new PackageStore(clients.dynamo, outputs.tableName).listAll();
        const listed = listIdentities(records, {
          ...(name === undefined ? {} : { name }),
          all: cli.values.all === true,
          policy: await channelPolicyFor(outputs),
        });
        if (cli.values.json === true) {
          console.log(JSON.stringify(listed, null, 2));
        } else if (listed.length === 0) {
          console.log(
            name === undefined
              ? "The repository holds no package" +
                (cli.values.all === true ? "" : " in any index (--all shows the others)")
              : `No identity of ${name}` +
                (cli.values.all === true ? "" : " in any index (--all shows the others)"),
          );
        } else {
          console.log(formatIdentities(listed));
        }
        return 0;
      } finally {
        clients.destroy();
      }
    });
  } catch (error) {
    return taskFailureCode(error, "list", { prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
