/**
 * `deno task prune-pool [ENV] [--dry-run]`: see `tasks/channels/prune.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { describeIdentity } from "../lambda/domain/package_record.ts";
import { channelPolicyFor, objectStoreFor } from "../lambda/dependencies.ts";
import { PublishHistory } from "../lambda/store/history.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { formatDays, prunePool, PruneWindowError } from "./channels/prune.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, UsageError } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";

/** Runs the task; returns the exit code (0 done, 1 failed, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "prune-pool",
    summary: "Delete the pool files no index lists any more, once no client can need them",
    description:
      "The only way a pool file is deleted. An identity's file goes when it is out of every\n" +
      "channel's index (withdrawn, retained out by keep_versions, or in no channel), no live\n" +
      "Packages file lists it, and it left the last index longer ago than the window: at\n" +
      "least the Releases' validity (Valid-Until) plus the by-hash retention, so no client\n" +
      "holding an index it may still use is sent to a missing file. The record stays,\n" +
      "marked pruned; add-deb of the same file brings it back. --dry-run lists what would\n" +
      "go and the bytes freed.",
    options: {
      env: ENV_OPTION,
      "dry-run": { type: "boolean", description: "list what would be deleted; delete nothing" },
      "window-days": {
        type: "string",
        valueName: "DAYS",
        description: "the safety window (default and minimum: validity + by-hash retention)",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task prune-pool prod --dry-run",
      "deno task prune-pool --env prod --json",
      "deno task prune-pool dev --window-days 30",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    const days = cli.values["window-days"];
    const windowDays = days === undefined ? undefined : Number(days);
    if (windowDays !== undefined && !(Number.isFinite(windowDays) && windowDays > 0)) {
      throw new UsageError(`--window-days must be a positive number of days (got ${days})`);
    }
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, envName) => {
        const clients = awsClients(outputs);
        try {
          const result = await prunePool({
            store: new PackageStore(clients.dynamo, outputs.tableName),
            history: new PublishHistory(clients.dynamo, outputs.tableName),
            objects: objectStoreFor(outputs, clients),
            policy: await channelPolicyFor(outputs),
            onProgress: (message) => console.error(message),
          }, {
            dryRun: cli.values["dry-run"] === true,
            ...(windowDays === undefined ? {} : { windowMs: windowDays * 86_400_000 }),
          });
          if (cli.values.json === true) console.log(JSON.stringify(result, null, 2));
          for (const item of result.waiting) {
            console.error(
              `Keeping ${item.record.pool_key} (${
                describeIdentity(item.record)
              }, ${item.reason}) ` +
                `until ${item.until}: ${item.why}`,
            );
          }
          for (const item of result.pruned) {
            console.error(
              `${result.dryRun ? "Would delete" : "Deleted"} ${item.record.pool_key} ` +
                `(${describeIdentity(item.record)}, ${item.reason} since ${item.leftAt})`,
            );
          }
          console.error(
            `${result.pruned.length} pool file(s), ${result.bytes} bytes ` +
              `${result.dryRun ? "would be freed" : "freed"} in ${envName} (window ` +
              `${formatDays(result.windowMs)})${result.dryRun ? "; dry run: nothing deleted" : ""}`,
          );
          return 0;
        } finally {
          clients.destroy();
        }
      },
    );
  } catch (error) {
    return taskFailureCode(error, "prune-pool", { failures: [PruneWindowError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
