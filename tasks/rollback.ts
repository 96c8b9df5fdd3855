/**
 * `deno task rollback --to GENERATION [--channel C]`: see
 * `tasks/channels/rollback.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { describeIdentity } from "../lambda/domain/package_record.ts";
import { channelPolicyFor, objectStoreFor } from "../lambda/dependencies.ts";
import { PublishHistory } from "../lambda/store/history.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { rollbackChannel, RollbackError } from "./channels/rollback.ts";
import {
  DRY_RUN_OPTION,
  ENV_OPTION,
  JSON_OPTION,
  parseCommandLine,
  UsageError,
} from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { operatorIdentity } from "./lib/operator.ts";
import { convergeEnvironment } from "./lib/rebuild_environment.ts";

/** Runs the task; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "rollback",
    summary: "Make a channel list what it listed at an earlier publish",
    description:
      "Reads the channel's publish history (deno task history), then adds to and removes\n" +
      "from the channel the identities that make its index equal to the one of generation\n" +
      'GENERATION (each change audited with the reason "rollback to generation N"), and\n' +
      "publishes once. Other channels are untouched; nothing is uploaded. Refused, with\n" +
      "nothing changed, when an identity of that generation was withdrawn since, is no\n" +
      "longer recorded, or its pool object is gone.",
    options: {
      env: ENV_OPTION,
      to: { type: "string", valueName: "GENERATION", description: "the generation to restore" },
      channel: {
        type: "string",
        valueName: "C",
        description: "the channel (default: the first one the stack publishes, stable)",
      },
      "dry-run": DRY_RUN_OPTION,
      json: JSON_OPTION,
    },
    examples: [
      "deno task rollback prod --to 41 --dry-run",
      "deno task rollback --to 41 --env prod --json",
      "deno task rollback --to 41 --channel beta --env prod",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const dryRun = cli.values["dry-run"] === true;
  try {
    const text = cli.values.to;
    const generation = Number(text);
    if (text === undefined || !Number.isInteger(generation) || generation < 1) {
      throw new UsageError(
        `Give --to GENERATION, a whole number from deno task history (got ${text ?? "none"})`,
      );
    }
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, envName) => {
        const policy = await channelPolicyFor(outputs);
        const channel = cli.values.channel ?? policy.channels[0] ?? "stable";
        const clients = awsClients(outputs);
        try {
          const by = dryRun ? "dry run" : await operatorIdentity(outputs);
          const result = await rollbackChannel({ channel, generation, by, dryRun }, {
            store: new PackageStore(clients.dynamo, outputs.tableName),
            history: new PublishHistory(clients.dynamo, outputs.tableName),
            objects: objectStoreFor(outputs, clients),
            channels: policy.channels,
            ...(policy.keepVersions === undefined ? {} : { keepVersions: policy.keepVersions }),
            converge: async () =>
              (await convergeEnvironment(outputs, { startedBy: `deno task rollback by ${by}` }))
                .published,
            onProgress: (message) => console.error(message),
          });
          if (cli.values.json === true) console.log(JSON.stringify(result, null, 2));
          const changes = result.added.length + result.removed.length;
          const what = `${envName} ${channel} to generation ${generation}`;
          console.error(
            changes === 0
              ? `${channel} in ${envName} already holds what generation ${generation} listed` +
                (result.published ? ": published" : "")
              : result.dryRun
              ? `Would roll back ${what}: add ${
                result.added.map(describeIdentity).join(", ") ||
                "nothing"
              }; remove ${
                result.removed.map(describeIdentity).join(", ") || "nothing"
              } (dry run: nothing changed)`
              : `Rolled back ${what} (${changes} change(s)); apt clients on ${channel} see it ` +
                "after their next update",
          );
          return 0;
        } finally {
          clients.destroy();
        }
      },
    );
  } catch (error) {
    return taskFailureCode(error, "rollback", { failures: [RollbackError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
