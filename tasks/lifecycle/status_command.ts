/**
 * The command line of `deno task withdraw` and `deno task reinstate`: parse,
 * resolve the environment, call {@linkcode changeStatus}, report.
 *
 * @module
 */

import { awsClients } from "../../lambda/aws/clients.ts";
import { describeIdentity } from "../../lambda/domain/package_record.ts";
import { versionError } from "../../lambda/domain/version.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { PackageStore, RecordNotFoundError } from "../../lambda/store/package_store.ts";
import {
  ARCH_OPTION,
  DRY_RUN_OPTION,
  ENV_OPTION,
  IDENTITY_POSITIONALS,
  JSON_OPTION,
  parseCommandLine,
  UsageError,
} from "../lib/cli.ts";
import { NotRecordedError } from "../lib/identity_selection.ts";
import { taskFailureCode, withEnvironment } from "../lib/env.ts";
import { operatorIdentity } from "../lib/operator.ts";
import { convergeEnvironment } from "../lib/rebuild_environment.ts";
import { changeStatus, StatusChangeError } from "./status_change.ts";

const COMMON = {
  env: ENV_OPTION,
  arch: ARCH_OPTION,
  "dry-run": DRY_RUN_OPTION,
  json: JSON_OPTION,
} as const;

const POSITIONALS = IDENTITY_POSITIONALS;

function parse(args: string[], action: "withdraw" | "reinstate") {
  if (action === "withdraw") {
    return parseCommandLine(args, {
      name: "withdraw",
      summary: "Take a version out of every index of the repository (the file stays in the pool)",
      description:
        "Marks the version withdrawn (all its architectures, or --arch) with when, who\n" +
        "and why, then publishes once: apt no longer sees it after its next update. The pool\n" +
        "object stays, so clients holding an older index can still download it, and\n" +
        "deno task reinstate brings it back without an upload. The scheduled sync never\n" +
        "ingests a withdrawn version again.",
      positionals: POSITIONALS,
      options: {
        ...COMMON,
        reason: {
          type: "string",
          valueName: "TEXT",
          description: "why it is withdrawn (required; kept in the record)",
        },
      },
      examples: [
        'deno task withdraw kiro 1.0.337 --reason "crashes on start" --env prod',
        'deno task withdraw kiro-cli 1.2.0 --arch arm64 --reason "bad build" --dry-run',
        'deno task withdraw kiro 1.0.337 prod --reason "crashes on start" --json',
      ],
    });
  }
  return parseCommandLine(args, {
    name: "reinstate",
    summary: "Put a withdrawn version back into the repository's indexes",
    description: "Checks that the pool object still has the recorded size and SHA-256, marks\n" +
      "the version published again (all its architectures, or --arch), and publishes once.",
    positionals: POSITIONALS,
    options: COMMON,
    examples: [
      "deno task reinstate kiro 1.0.337 --env prod",
      "deno task reinstate kiro-cli 1.2.0 dev --arch arm64 --dry-run --json",
    ],
  });
}

/**
 * Runs `deno task withdraw` (`action` `"withdraw"`) or `deno task reinstate`
 * with `args`; returns the exit code (0 done, 1 failed, 2 usage).
 */
export async function statusChangeMain(
  args: string[],
  action: "withdraw" | "reinstate",
): Promise<number> {
  const cli = parse(args, action);
  if (cli.exitCode !== undefined) return cli.exitCode;
  const [name = "", version = ""] = cli.positionals;
  const reason = (cli.values as { reason?: string | undefined }).reason;
  try {
    const problem = versionError(version);
    if (problem !== null) throw new UsageError(`Cannot use version ${version}: ${problem}`);
    if (action === "withdraw" && (reason === undefined || reason.trim() === "")) {
      throw new UsageError("Give --reason TEXT: why the version is withdrawn (kept in the record)");
    }
    return await withEnvironment({ env: cli.values.env }, async (outputs, envName) => {
      const clients = awsClients(outputs);
      const dryRun = cli.values["dry-run"] === true;
      try {
        const result = await changeStatus({
          action,
          name,
          version,
          ...(cli.values.arch === undefined ? {} : { architecture: cli.values.arch }),
          ...(reason === undefined ? {} : { reason }),
          ...(action === "withdraw" && !dryRun ? { by: await operatorIdentity(outputs) } : {}),
          dryRun,
        }, {
          store: new PackageStore(clients.dynamo, outputs.tableName),
          objects: objectStoreFor(outputs, clients),
          converge: async () => (await convergeEnvironment(outputs)).published,
          onProgress: (message) => console.error(message),
        });
        if (cli.values.json === true) console.log(JSON.stringify(result.changed, null, 2));
        const done = action === "withdraw" ? "withdrawn" : "reinstated";
        const list = result.changed.map(describeIdentity).join(", ");
        if (result.dryRun) {
          console.error(
            result.changed.length === 0
              ? `Nothing would change in ${envName}`
              : `Would have ${done} in ${envName}: ${list} (dry run: nothing changed)`,
          );
        } else if (result.changed.length > 0) {
          console.error(
            `${
              result.changed.length === 1 ? "One identity" : `${result.changed.length} identities`
            } ` +
              `${done} in ${envName}: ${list}; ` +
              (action === "withdraw"
                ? "apt no longer lists it after its next update (the CDN serves the new " +
                  "indexes within minutes); deno task reinstate undoes it"
                : "apt lists it again after its next update"),
          );
        }
        return 0;
      } finally {
        clients.destroy();
      }
    });
  } catch (error) {
    return taskFailureCode(error, action, {
      failures: [StatusChangeError, RecordNotFoundError, NotRecordedError],
      prefix: true,
    });
  }
}
